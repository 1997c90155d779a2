source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
O=$H/out/cpaths; rm -rf $O; mkdir -p $O
B=$H/base
c() { t compile "$1" $S compile $B/mlp.sysq --hw edge-8x8 -o "$2" "${@:3}"; echo "[$1] rc=$LAST_RC $(echo "$LAST_ERR"|head -2)"; }
c nested-missing $O/a/b/c
mkdir $O/emptyd; ( cd $O/emptyd && t compile dot $S compile $B/mlp.sysq --hw edge-8x8 -o . ; echo "[dot-relative-cwd-main] rc=$LAST_RC $(echo "$LAST_ERR"|head -2)")
c dot-abs $O/emptyd/.
c dotdot $O/emptyd/sub/..
mkdir $O/real; ln -s $O/real $O/link; c symlink-empty $O/link; ls -la $O | head; ls $O/real | head -3
ln -s $O/nowhere $O/dangling; c dangling $O/dangling; ls -la $O/dangling $O/nowhere 2>&1 | head -3
mkdir $O/.lockdir.systole-lock; c lockpath-is-dir $O/lockdir
touch $O/important; ln -s $O/important $O/.lsym.systole-lock; c lockpath-symlink $O/lsym; ls -la $O/important
c trailing-slash $O/ts/
c slash /
c devnull /dev/null
c proc /proc/self
mkdir -p $O/ro; chmod 555 $O/ro; c ro-dir $O/ro/b; 
c same-as-input $B/mlp.sysq
c input-dir $B
c out-is-file-input-inside $B/build-mlp --force
c out-is-build-dir-of-input $B/build-mlp/program.sysq
