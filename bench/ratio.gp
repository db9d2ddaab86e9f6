# ratio.gp: the replica's throughput as a ratio of raw SQLite's in the same run, against
# fixture size (bench/README.md), from the block "# arrangements ..." of the data file arrang_bench
# --dat writes. Usage:
#   gnuplot -e "datafile='bench/results/throughput.dat'; outfile='bench/results/ratio.png'" bench/ratio.gp
if (!exists("datafile")) datafile = 'bench/results/throughput.dat'
if (!exists("outfile")) outfile = 'bench/results/ratio.png'
set terminal pngcairo size 900,560 noenhanced
set output outfile
set title "arrangd throughput / raw SQLite insert throughput, same run"
set xlabel "arrangements (32.5 column values each, DOMAIN.md shapes)"
set ylabel "ratio to raw SQLite"
set logscale x
set yrange [0:1<*]
set grid
set key outside below center horizontal
plot datafile index "arrangements" using 1:($4/$3) with linespoints lw 2 pt 5 title "API write (import path)", \
     datafile index "arrangements" using 1:($5/$3) with linespoints lw 2 pt 9 title "catch-up of an empty node", \
     datafile index "arrangements" using 1:($4/$6) with linespoints lw 1 dt 3 pt 4 title "API write / tuned raw", \
     datafile index "arrangements" using 1:($5/$6) with linespoints lw 1 dt 3 pt 8 title "catch-up / tuned raw", \
     0.8 with lines dt 2 lc rgb "gray" title "target: 0.8"
