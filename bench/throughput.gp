# throughput.gp: column values per second against fixture size (bench/README.md), from
# the block "# arrangements ..." of the data file arrang_bench --dat writes. Usage:
#   gnuplot -e "datafile='bench/results/throughput.dat'; outfile='bench/results/throughput.png'" bench/throughput.gp
if (!exists("datafile")) datafile = 'bench/results/throughput.dat'
if (!exists("outfile")) outfile = 'bench/results/throughput.png'
set terminal pngcairo size 900,640 noenhanced
set output outfile
set title "arrangd throughput against size (column values/s; raw SQLite = baseline)"
set xlabel "arrangements (32.5 column values each, DOMAIN.md shapes)"
set ylabel "column values per second"
set logscale x
set logscale y
set grid
set rmargin 6
set key outside below center horizontal maxrows 2
set format y "%.0s%c"
plot datafile index "arrangements" using 1:3 with linespoints lw 2 pt 7 title "raw SQLite insert (baseline)", \
     datafile index "arrangements" using 1:($3*0.8) with lines dt 2 lc rgb "gray" title "target: 0.8 x baseline", \
     datafile index "arrangements" using 1:4 with linespoints lw 2 pt 5 title "API write (arrangctl import path)", \
     datafile index "arrangements" using 1:5 with linespoints lw 2 pt 9 title "catch-up of an empty node"
