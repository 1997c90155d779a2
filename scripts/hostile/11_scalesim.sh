source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
O=$H/out/ss; rm -rf $O; mkdir -p $O
CFG=hw/topologies/scale-32x32-ws.cfg; TOP=hw/topologies/mobilenet_v1.csv
for f in $H/in/ss/cfg_*.cfg; do n=$(basename $f .cfg)
  t scalesim $n $S scalesim --config $f --topology $TOP -o $O/$n
done
for f in $H/in/ss/topo_*.csv; do n=$(basename $f .csv)
  t scalesim $n $S scalesim --config $CFG --topology $f -o $O/$n
  t scalesim $n-exact $S scalesim --config $CFG --topology $f --engine exact
  t scalesim $n-asgemm $S scalesim --config $CFG --topology $f --gemm
done
for f in $H/in/ss/gemm_*.csv; do n=$(basename $f .csv)
  t scalesim $n $S scalesim --config $CFG --topology $f --gemm -o $O/$n
  t scalesim $n-exact $S scalesim --config $CFG --topology $f --gemm --engine exact
  t scalesim $n-exact-lim $S --max-memory-bytes 1000 scalesim --config $CFG --topology $f --gemm --engine exact
  t scalesim $n-astopo $S scalesim --config $CFG --topology $f
done
for e in fast exact FAST "" slow; do t scalesim engine-$e $S scalesim --config $CFG --topology $H/in/ss/gemm_ok.csv --gemm --engine "$e"; done
