# shellcheck shell=bash
# bench/lib/chart.sh: the race lab's sweep charts (sourced by bench/race).
#
# race_chart CSV OUTDIR draws, for every key spread in a scenario's CSV
# (bench/race's columns) that was run at two client counts or more,
# OUTDIR/<scenario>-<keys>.svg: three panels over the client count (log
# scale), one line per variant, same colour in every panel:
#   tps                   pgbench's tps
#   failed per 1,000      failed transactions per 1,000
#   violations per 1,000  invariant violations (duplicates, missing ids,
#                         lost increments, rule breaks) per 1,000
#                         transactions
# With gnuplot (Debian package gnuplot-nox).  Prints the files it wrote.

race_chart() {
    local csv=$1 dir=$2 scen keys data gp variants svg
    local pairs
    pairs=$(awk -F, 'NR > 1 && !seen[$1 "," $2 "," $4]++ { n[$1 "," $2]++ }
                     END { for (p in n) if (n[p] > 1) print p }' "$csv" | sort)
    for pair in $pairs; do
        IFS=, read -r scen keys <<<"$pair"
        data=$(mktemp) gp=$(mktemp)
        # one gnuplot data block per variant (separated by two blank
        # lines): clients tps failed/1k violations/1k, by clients
        variants=$(awk -F, -v s="$scen" -v k="$keys" '
            NR > 1 && $1 == s && $2 == k && !seen[$3]++ { printf "%s ", $3 }' "$csv")
        for v in $variants; do
            awk -F, -v s="$scen" -v k="$keys" -v v="$v" '
                NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
                $1 == s && $2 == k && $3 == v {
                    t = $col["transactions"]
                    printf "%s %s %s %.3f\n", $col["clients"], $col["tps"],
                        $col["failed_per_1000"], t ? $col["violations"] * 1000 / t : 0
                }' "$csv" | sort -n
            printf '\n\n'
        done >"$data"
        svg=$dir/$scen-$keys.svg
        cat >"$gp" <<GP
set terminal svg size 1260,420 dynamic noenhanced font 'sans,12' background rgb 'white'
set output '$svg'
set datafile separator ' '
variants = "$variants"
set multiplot layout 1,3 title "bench/race --scenario $scen --keys $keys: the same call written $(wc -w <<<"$variants") ways, by client count"
set logscale x 2
set xlabel 'clients'
set grid
set yrange [0:*]
set key bottom right font ',10'
set title 'tps'
plot for [i=1:words(variants)] '$data' index (i-1) using 1:2 with linespoints lw 2 pt 7 title word(variants, i)
unset key
set title 'failed transactions per 1,000'
plot for [i=1:words(variants)] '$data' index (i-1) using 1:3 with linespoints lw 2 pt 7 title word(variants, i)
set title 'invariant violations per 1,000 transactions'
plot for [i=1:words(variants)] '$data' index (i-1) using 1:4 with linespoints lw 2 pt 7 title word(variants, i)
unset multiplot
GP
        if gnuplot "$gp" 2>"$gp.err"; then
            echo "$svg"
        else
            race_log "gnuplot failed for $scen $keys: $(head -c 300 "$gp.err")"
        fi
        rm -f "$data" "$gp" "$gp.err"
    done
}
