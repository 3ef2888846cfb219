set terminal pngcairo size 1000,650 font 'sans,10'
set output 'results-2026-11-30-2.png'
set title 'Wall time vs number of sockets (median, private netns)'
set xlabel 'sockets'
set ylabel 'wall time (s)'
set logscale xy
set grid
set key outside right top
set format x '%.0s%c'
set xrange [66666.7:150000]
plot for [i=2:12] 'results-2026-11-30-2.dat' using 1:i with linespoints lw 2 title columnheader(i)
