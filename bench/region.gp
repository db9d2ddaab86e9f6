# region.gp: benchmark 4 against the region's size (bench/README.md, "A region at scale"),
# from the block "# nodes ..." of the data file arrang_bench --dat writes. Usage:
#   ARRANG_BENCH_CONV_NODES=12,50,100 build-bench/bench/arrang_bench --only 4 --dat bench/results/region.dat
#   gnuplot -e "datafile='bench/results/region.dat'; outfile='bench/results/region.png'" bench/region.gp
if (!exists("datafile")) datafile = 'bench/results/region.dat'
if (!exists("outfile")) outfile = 'bench/results/region.png'
set terminal pngcairo size 1000,720 noenhanced
set output outfile
set multiplot layout 2,2 title "a region of N nodes on one 2-core machine: per node, burst of 1,200 change sets"
set grid
set xlabel "nodes"
set key bottom right
set yrange [0:1.2<*]
set title "convergence after the last ack (s)"
plot datafile index "nodes" using 1:2 with linespoints lw 2 pt 7 title "converged", \
     1 with lines dt 2 lc rgb "gray" title "target at 100: 1 s"
set title "redundancy (copies received per change set)"
set yrange [0:1.8<*]
plot datafile index "nodes" using 1:3 with linespoints lw 2 pt 7 title "redundancy", \
     1.5 with lines dt 2 lc rgb "gray" title "target: 1.5"
set title "CPU (burst ms per writer and per node; idle per mille per node)"
set yrange [0:*]
set key bottom left
plot datafile index "nodes" using 1:9 with linespoints lw 2 pt 7 title "burst CPU ms per writer", \
     datafile index "nodes" using 1:4 with linespoints lw 2 pt 9 title "burst CPU ms per node", \
     datafile index "nodes" using 1:($6*10) with linespoints lw 2 pt 5 title "idle CPU per mille"
set title "idle per node: bytes/s and RSS (MiB)"
set y2tics
set y2range [0:*]
plot datafile index "nodes" using 1:5 with linespoints lw 2 pt 7 title "TCP bytes/s", \
     datafile index "nodes" using 1:7 with linespoints lw 2 pt 5 axes x1y2 title "RSS MiB (right)"
unset multiplot
