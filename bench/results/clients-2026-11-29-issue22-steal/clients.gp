set terminal svg size 1200,760 noenhanced font 'sans,11'
set output '/work/main/bench/results/clients-2026-11-29-issue22-steal/clients.svg'
set multiplot layout 2,2 title 'Real clients: median of 3 runs, scale 1 (lower is better)'
set style fill solid 0.7 border -1; set boxwidth 0.7; set yrange [0:*]; set grid y
set xtics rotate by -30 nomirror; unset key
set title 'lua: wall time (s), min-max bars'
plot '/work/main/bench/results/clients-2026-11-29-issue22-steal/plot-lua.dat' using 0:3:xtic(2) with boxes lc rgb '#4477aa', '' using 0:3:4:5 with yerrorbars lc rgb 'black' pt 0
set title 'lua: peak RSS (MiB)'
plot '/work/main/bench/results/clients-2026-11-29-issue22-steal/plot-lua.dat' using 0:6:xtic(2) with boxes lc rgb '#cc6677'
set title 'sqlite: wall time (s), min-max bars'
plot '/work/main/bench/results/clients-2026-11-29-issue22-steal/plot-sqlite.dat' using 0:3:xtic(2) with boxes lc rgb '#4477aa', '' using 0:3:4:5 with yerrorbars lc rgb 'black' pt 0
set title 'sqlite: peak RSS (MiB)'
plot '/work/main/bench/results/clients-2026-11-29-issue22-steal/plot-sqlite.dat' using 0:6:xtic(2) with boxes lc rgb '#cc6677'
unset multiplot
