# bench/dirty.gp: per-cgroup dirty bytes over time in the isolation
# benchmark's first noisy round (a victim writing 8 MiB/s, a neighbour's
# writers throttled). Called by bench/run.sh with
#   gnuplot -e "csv='...'; bcsv='...'; kcsv='...'; out='...'; limit=BYTES; bw='64M'" bench/dirty.gp
# csv columns: t_s, victim dirty, victim writeback, neighbour dirty,
# neighbour writeback (bench/sampler.py). bcsv: the same on a mount with
# writeback_bw=bw. kcsv: the same scenario on the kernel's page cache
# (cgroup v1 memory.stat). Each drawn below the first when present.
set terminal pngcairo size 1000,1100 font ",10" noenhanced
set output out
set datafile separator ","
set key top right
set grid
set xlabel "time (s)"
set ylabel "MiB"
MiB = 1048576.0
has_kernel = system("test -s '" . kcsv . "' && echo 1 || echo 0") + 0
has_bw = system("test -s '" . bcsv . "' && echo 1 || echo 0") + 0

set multiplot layout (1 + has_bw + has_kernel),1

set title "dirtyfs, writeback_bw unlimited: per-cgroup dirty bytes (sampled every 100 ms)"
set yrange [0:*]
plot csv using 1:($4 / MiB) every ::1 with lines lw 2 title "neighbour dirty (16 writers)", \
     csv using 1:($5 / MiB) every ::1 with lines lw 1 dt 2 title "neighbour writeback", \
     csv using 1:($2 / MiB) every ::1 with lines lw 2 title "victim dirty (8 MiB/s)", \
     limit / MiB with lines lw 1 lc rgb "red" title "neighbour dirty_limit"

if (has_bw) {
	set title "dirtyfs, writeback_bw=" . bw . ": per-cgroup dirty bytes"
	plot bcsv using 1:($4 / MiB) every ::1 with lines lw 2 title "neighbour dirty (16 writers)", \
	     bcsv using 1:($5 / MiB) every ::1 with lines lw 1 dt 2 title "neighbour writeback", \
	     bcsv using 1:($2 / MiB) every ::1 with lines lw 2 title "victim dirty (8 MiB/s)", \
	     limit / MiB with lines lw 1 lc rgb "red" title "neighbour dirty_limit"
}

if (has_kernel) {
	set title "kernel page cache, vm.dirty_bytes=256M: per-cgroup dirty (memory.stat)"
	plot kcsv using 1:($4 / MiB) every ::1 with lines lw 2 title "neighbour dirty", \
	     kcsv using 1:($5 / MiB) every ::1 with lines lw 1 dt 2 title "neighbour writeback", \
	     kcsv using 1:($2 / MiB) every ::1 with lines lw 2 title "victim dirty"
}
unset multiplot
