source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
O=$H/out/cpaths2; rm -rf $O; mkdir -p $O
B=$H/base
c() { t compile "$1" $S compile $B/mlp.sysq --hw edge-8x8 -o "$2" "${@:3}"; echo "[$1] rc=$LAST_RC $(echo "$LAST_ERR"|head -2|cut -c1-200)"; }
mkdir -p $O/e1/sub; c dotdot-existing $O/e1/sub/..; ls -A $O/e1 | tr '\n' ' '; echo
mkdir -p $O/e2; (CWD=$O/e2 c dot-rel-empty .); ls -A $O/e2 | tr '\n' ' '; echo
mkdir -p $O/e3/x; (CWD=$O/e3/x c dotdot-rel ..); ls -A $O/e3 | tr '\n' ' '; echo
c dot-mid $O/e4/./b; ls -A $O/e4 2>&1| tr '\n' ' '; echo
c dotdot-mid-missing $O/e5/zz/../b; ls -A $O/e5 2>&1 | tr '\n' ' '; echo
mkdir $O/r6; ln -s $O/r6 $O/l6; c symlink-parent $O/l6/newbuild; ls -A $O/r6 | tr '\n' ' '; echo
ln -s $O/l6 $O/l6b; c symlink-chain $O/l6b; ls -A $O/r6 | tr '\n' ' '; echo
touch $O/afile; ln -s $O/afile $O/l7; c symlink-to-file $O/l7
ln -s $O/loop $O/loop; c symlink-loop $O/loop
c through-file $O/afile/sub
c through-file-deep $O/afile/a/b
c newline "$O/new
line"; ls $O | grep -c line
c dash -
c empty ""
c dotdot-only-missing $O/nomiss/..
mkdir $O/r8; ln -s $O/r8 $O/l8; c symlink-trailing $O/l8/; ls -A $O/r8 | tr '\n' ' '; echo
c rebuild-dot $O/e4/b/.
c rebuild-via-link-force $O/l6 --force; ls -la $O/l6 | cut -c1-80
# lock-file variations
mkdir $O/r9; ln -s $H/victimlock $O/.lk.systole-lock; c lock-dangling $O/lk; ls -la $H/victimlock 2>&1 | cut -c1-100
mkfifo $O/.lf.systole-lock; TO=15 c lock-fifo $O/lf
# build dir is a symlink to an existing build (old build) -> rebuild without force
c mk-a $O/ba; ln -s $O/ba $O/bl; c rebuild-symlinked-build $O/bl; ls -la $O/bl | cut -c1-80
