#!/usr/bin/env bash
# larder benchmarks (see BENCHMARKS.md). Needs nginx and wrk (installed from
# Debian's packages when missing) and the local PostgreSQL. Release builds.
#   bench/run.sh            all four
#   bench/run.sh hit        one of: hit wake coalesce throughput isolation memory scaleout keyspace image
#   KEYSPACE_SIZES="20000"  bench/run.sh keyspace   (default: 20000 100000)
#   KEYSPACE_RECORDS="large" bench/run.sh keyspace  (default: small large)
#   KEYSPACE_MODES="default 1MiB" bench/run.sh keyspace (default: default default-nodisk 1MiB 1MiB+disk)
set -euo pipefail
cd "$(dirname "$0")/.."
what="${1:-all}"
export DATABASE_URL="postgres://postgres@127.0.0.1:5432/larder_bench"
./scripts/ensure-postgres
if ! command -v nginx >/dev/null || ! command -v wrk >/dev/null; then
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq nginx-light wrk >/dev/null
fi
cargo build --release --quiet -p larder -p larder-bench
bin=${CARGO_TARGET_DIR:-target}/release
work=$(mktemp -d /tmp/larder-bench.XXXX)
chmod 755 "$work"   # nginx workers (www-data) keep their cache here
pids=()
wpids=()
cleanup() { for p in "${pids[@]}" "${wpids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT

psql -h 127.0.0.1 -U postgres -d postgres -qc "DROP DATABASE IF EXISTS larder_bench WITH (FORCE)"
"$bin/larder" migrate >/dev/null 2>&1
token=$("$bin/larder" keys create --name bench 2>/dev/null | tail -n1)

# No schedules: the repository's schedules.toml would prewarm on start.
: >"$work/no-schedules.toml"
common_env=(TMDB_API_KEY=bench LARDER_TMDB_RATE=1000000 RUST_LOG=warn LARDER_LOG_FORMAT=json
  LARDER_SCHEDULES="$work/no-schedules.toml")

start_fixture() { # port delay_ms [record]
  "$bin/larder-bench" fixture --addr "127.0.0.1:$1" --delay-ms "$2" --record "${3:-small}" & pids+=($!)
  for _ in $(seq 1 50); do
    kill -0 "${pids[-1]}" 2>/dev/null || { echo "fixture on port $1 did not start" >&2; exit 1; }
    curl -fsS -o /dev/null "http://127.0.0.1:$1/__calls" 2>/dev/null && return 0
    sleep 0.1
  done
}
start_larder() { # name port upstream_port args...
  local name=$1 port=$2 up=$3; shift 3
  env "${common_env[@]}" LARDER_LISTEN="127.0.0.1:$port" LARDER_TMDB_BASE_URL="http://127.0.0.1:$up" LARDER_TMDB_IMAGE_BASE_URL="http://127.0.0.1:$up" \
    "$bin/larder" --no-migrate "$@" >"$work/$name.out" 2>"$work/$name.err" & pids+=($!)
  for _ in $(seq 1 100); do curl -fsS "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && return 0; sleep 0.1; done
  echo "larder $name did not become ready" >&2; cat "$work/$name.err" >&2; exit 1
}
stop_all() { cleanup; pids=(); }
wrk_rps() { # url [header]
  wrk -t1 -c64 -d10s --latency "$@" | awk '/Requests\/sec/ {print $2} /  99%/ {p99=$2} END {print p99}' | paste -sd' '
}

if [[ $what == all || $what == hit ]]; then
  start_fixture 9180 0
  start_larder hit 8380 9180 all
  auth=(-H "Authorization: Bearer $token")
  curl -fsS "${auth[@]}" http://127.0.0.1:8380/v1/tmdb/movie/550 -o /dev/null
  cat >"$work/nginx.conf" <<NGINX
worker_processes auto;
pid $work/nginx.pid;
error_log $work/nginx.err warn;
daemon off;
events { worker_connections 4096; }
http {
  access_log off;
  proxy_cache_path $work/nginx-cache levels=1:2 keys_zone=c:10m max_size=100m inactive=1h;
  server {
    listen 127.0.0.1:8390;
    location / {
      proxy_pass http://127.0.0.1:9180;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_cache c;
      proxy_cache_valid 200 1h;
      add_header X-Cache-Status \$upstream_cache_status;
    }
  }
}
NGINX
  nginx -c "$work/nginx.conf" & pids+=($!)
  for _ in $(seq 1 50); do curl -fsS http://127.0.0.1:8390/3/movie/550 -o /dev/null 2>&1 && break; sleep 0.1; done
  status=$(curl -sS -D - -o /dev/null http://127.0.0.1:8390/3/movie/550 | tr -d '\r' | awk -F': ' 'tolower($1)=="x-cache-status" {print $2}')
  [[ $status == HIT ]] || { echo "nginx is not serving from its cache ($status)" >&2; exit 1; }
  bytes=$(curl -fsS "${auth[@]}" http://127.0.0.1:8380/v1/tmdb/movie/550 | wc -c)
  echo "hit path: ${bytes}-byte JSON, wrk -t1 -c64 -d10s, two alternating runs each (req/s, p99)"
  for round in 1 2; do
    echo "  nginx proxy_cache  run $round: $(wrk_rps http://127.0.0.1:8390/3/movie/550)"
    echo "  larder (with auth) run $round: $(wrk_rps "${auth[@]}" http://127.0.0.1:8380/v1/tmdb/movie/550)"
  done
  stop_all
fi

if [[ $what == all || $what == wake ]]; then
  start_larder wake 8381 9199 api   # no worker: the driver plays the worker
  "$bin/larder-bench" wake --api http://127.0.0.1:8381 --db "$DATABASE_URL" --token "$token" --n 300
  "$bin/larder-bench" wake --api http://127.0.0.1:8381 --db "$DATABASE_URL" --token "$token" --n 20 --callers 200
  stop_all
fi

if [[ $what == all || $what == coalesce ]]; then
  start_fixture 9181 300
  start_larder coalesce 8382 9181 all
  "$bin/larder-bench" coalesce --api http://127.0.0.1:8382 --token "$token" --callers 200 --rounds 10 --upstream-ms 300
  stop_all
fi

if [[ $what == all || $what == throughput ]]; then
  start_fixture 9182 0
  for workers in 1 2; do
    for w in $(seq 1 "$workers"); do
      env "${common_env[@]}" LARDER_TMDB_BASE_URL=http://127.0.0.1:9182 \
        "$bin/larder" --no-migrate worker --concurrency 64 >"$work/worker$w.out" 2>"$work/worker$w.err" & wpids+=($!)
    done
    echo -n "$workers worker process(es), concurrency 64: "
    "$bin/larder-bench" throughput --db "$DATABASE_URL" --n 3000 --first-id $((workers * 1000000))
    kill "${wpids[@]}"; wait "${wpids[@]}" 2>/dev/null || true; wpids=()
  done
  stop_all
fi

if [[ $what == all || $what == isolation ]]; then
  # TMDB fill latency (upstream 50 ms) with and without a backlog of 200
  # Open-Meteo fills limited to one call a second.
  start_fixture 9183 50
  LARDER_OPENMETEO_RATE=1/s LARDER_OPENMETEO_BURST=1 LARDER_OPENMETEO_BASE_URL=http://127.0.0.1:9183 \
    start_larder isolation 8383 9183 all
  auth=(-H "Authorization: Bearer $token")
  fills() { # first_id label
    for i in $(seq "$1" $(($1 + 39))); do
      curl -sS -o /dev/null -w '%{time_total}\n' "${auth[@]}" "http://127.0.0.1:8383/v1/tmdb/movie/$i"
    done | sort -n | awk -v l="$2" '{v[NR]=$1} END {printf "  %-32s p50 %.1f ms  p99 %.1f ms  max %.1f ms (40 fills)\n", l, v[int(NR*0.5)]*1000, v[int(NR*0.99)]*1000, v[NR]*1000}'
  }
  echo "isolation: TMDB fills (upstream 50 ms) beside an Open-Meteo backlog at 1/s"
  fills 1000 "no backlog"
  for i in $(seq 1 200); do
    curl -sS -o /dev/null "${auth[@]}" -H 'prefer: wait=0' "http://127.0.0.1:8383/v1/openmeteo/forecast?latitude=$i&longitude=1"
  done
  fills 2000 "with 200 Open-Meteo fills queued"
  stop_all
fi

if [[ $what == all || $what == memory ]]; then
  # Resident memory of one API process under hostile traffic (issue 7):
  # 20,000 distinct misses pending (no worker runs, so every fill stays
  # pending; caps raised so that all are taken), the same after a worker has
  # drained them, 20,000 padded spellings of one key, and the hot cache
  # filled far past its budget.
  rss() { awk '/VmRSS/ {printf "%.0f", $2/1024}' "/proc/$1/status"; }
  start_fixture 9184 0
  LARDER_MAX_FLIGHTS=30000 LARDER_QUEUE_MAX_PER_PROVIDER=30000 start_larder memory 8384 9184 api
  api_pid=${pids[-1]}
  echo "memory: one API process (release), RSS in MiB"
  "$bin/larder-bench" flood --api http://127.0.0.1:8384 --token "$token" --pid "$api_pid" --kind misses --n 20000
  env "${common_env[@]}" LARDER_TMDB_BASE_URL=http://127.0.0.1:9184 \
    "$bin/larder" --no-migrate worker --concurrency 64 >"$work/memworker.out" 2>"$work/memworker.err" & wpids+=($!)
  for _ in $(seq 1 600); do
    left=$(psql "$DATABASE_URL" -Atqc "SELECT count(*) FROM larder_inflight")
    [[ $left == 0 ]] && break
    sleep 0.5
  done
  sleep 2 # flights end a moment after their fill's notice
  echo "  after a worker drained them ($left in flight): RSS $(rss "$api_pid") MiB"
  "$bin/larder-bench" flood --api http://127.0.0.1:8384 --token "$token" --pid "$api_pid" --kind padded --n 20000
  stop_all
  wpids=()
  start_fixture 9185 0
  # The in-process cache alone (its bound is what is measured).
  LARDER_HOT_CACHE_BYTES=$((64 * 1024 * 1024)) LARDER_DISK_CACHE_DIR=off start_larder hot 8385 9185 api
  hot_pid=${pids[-1]}
  env "${common_env[@]}" LARDER_TMDB_BASE_URL=http://127.0.0.1:9185 \
    "$bin/larder" --no-migrate worker --concurrency 64 >"$work/hotworker.out" 2>"$work/hotworker.err" & pids+=($!)
  echo "  hot cache budget 64 MiB, $(wc -c <tests/fixtures/tmdb/movie/550.json)-byte documents:"
  "$bin/larder-bench" flood --api http://127.0.0.1:8385 --token "$token" --pid "$hot_pid" --kind fills --n 40000 --first-id 7000000
  echo "  one cached key, never scraped by Prometheus:"
  "$bin/larder-bench" flood --api http://127.0.0.1:8385 --token "$token" --pid "$hot_pid" --kind hits --n 400000 --first-id 7000000
  stop_all
fi

if [[ $what == all || $what == scaleout ]]; then
  # Issue 12's storm: 4 `larder api` + 4 `larder worker` (defaults: worker
  # concurrency 16, pools sized by role), PostgreSQL with its defaults, an
  # upstream answering in 200 ms, 6,000 distinct misses from 256 clients
  # with `Prefer: wait=20`, spread over the four APIs.
  start_fixture 9186 200
  apis=()
  for i in 1 2 3 4; do
    start_larder "scale-api$i" $((8390 + i)) 9186 api
    apis+=("http://127.0.0.1:$((8390 + i))")
  done
  for i in 1 2 3 4; do
    env "${common_env[@]}" LARDER_LOG_FORMAT=json RUST_LOG=warn LARDER_TMDB_BASE_URL=http://127.0.0.1:9186 \
      "$bin/larder" --no-migrate worker >"$work/scale-worker$i.out" 2>"$work/scale-worker$i.err" & pids+=($!)
  done
  peak_file="$work/peak"
  echo 0 >"$peak_file"
  ( peak=0 busy=0
    while :; do
      read -r n a < <(psql -h 127.0.0.1 -U postgres -d postgres -AtqF' ' -c \
        "SELECT count(*), count(*) FILTER (WHERE state NOT IN ('idle') AND query NOT LIKE 'LISTEN%' AND pid <> pg_backend_pid()) FROM pg_stat_activity WHERE backend_type = 'client backend'" 2>/dev/null || echo "$peak $busy")
      (( n > peak )) && peak=$n
      (( a > busy )) && busy=$a
      echo "$peak open, at most $busy busy at once" >"$peak_file"
      sleep 0.2
    done ) & pids+=($!)
  echo "scaleout: 4 API + 4 worker processes (release), max_connections $(psql -h 127.0.0.1 -U postgres -d postgres -Atqc 'SHOW max_connections')"
  "$bin/larder-bench" storm --apis "$(IFS=,; echo "${apis[*]}")" --token "$token" \
    --fixture http://127.0.0.1:9186 --n 6000 --clients 256 --wait 20
  echo "  PostgreSQL client connections (ours and the monitor's): $(cat "$peak_file")"
  # Twice the load: answers per second should stay near the first run's.
  "$bin/larder-bench" storm --apis "$(IFS=,; echo "${apis[*]}")" --token "$token" \
    --fixture http://127.0.0.1:9186 --n 12000 --clients 512 --wait 20 --first-id 19000000
  echo "  PostgreSQL client connections over both storms: $(cat "$peak_file")"
  echo "  pool time-outs logged: $(cat "$work"/scale-*.err | grep -c 'pool timed out' || true)," \
    "jobs handed back: $(cat "$work"/scale-*.err | grep -c 'job could not finish' || true)," \
    "worker restarts: $(cat "$work"/scale-*.err | grep -c 'starting again' || true)"
  stop_all
fi

if [[ $what == all || $what == keyspace ]]; then
  # Issue 11: N distinct keys read at random, larder (default in-process
  # cache; in-process cache at 1 MiB, so every hit reads PostgreSQL) beside
  # nginx proxy_cache on disk, same run, median of three 10 s runs each.
  # Clients accepting gzip (as media servers, browsers and HTTP libraries
  # do; nginx caches the upstream's gzip answer and serves it as is) and
  # clients accepting no coding (nginx caches identity).
  cat >"$work/random.lua" <<'LUA'
local prefix, first, n = os.getenv("PREFIX"), tonumber(os.getenv("FIRST")), tonumber(os.getenv("N"))
math.randomseed(os.time())
request = function() return wrk.format("GET", prefix .. math.random(first, first + n - 1)) end
LUA
  median_run() { # label base path-prefix first n headers...
    local label=$1 base=$2 prefix=$3 first=$4 n=$5; shift 5
    local args=()
    for h in "$@"; do args+=(-H "$h"); done
    local runs=()
    for _ in 1 2 3; do
      runs+=("$(PREFIX=$prefix FIRST=$first N=$n wrk -t1 -c64 -d10s --latency -s "$work/random.lua" "${args[@]}" "$base" 2>/dev/null |
        awk '/Requests\/sec/ {rps=$2} /  99%/ {p99=$2} /Non-2xx/ {bad=$NF} END {printf "%d %s %s", rps, p99, (bad ? "non-2xx:" bad : "")}')")
    done
    printf '%s\n' "${runs[@]}" | sort -n | sed -n 2p | awk -v l="$label" -v all="$(printf '%s;' "${runs[@]}" | awk -F';' '{for(i=1;i<=NF;i++) if($i!="") {split($i,a," "); printf "%s%s", (i>1?"/":""), a[1]}}')" \
      '{printf "    %-44s %7d req/s  p99 %-8s (runs %s) %s\n", l, $1, $2, all, $3}'
  }
  for record in ${KEYSPACE_RECORDS:-small large}; do
    for n in ${KEYSPACE_SIZES:-20000 100000}; do
      stop_all
      psql -h 127.0.0.1 -U postgres -d larder_bench -qc "TRUNCATE larder_cache" >/dev/null
      first=$((30000000))
      start_fixture 9187 0 "$record"
      "$bin/larder-bench" seed --db "$DATABASE_URL" --n "$n" --first-id "$first" --record "$record"
      psql -h 127.0.0.1 -U postgres -d larder_bench -qc "VACUUM ANALYZE larder_cache" >/dev/null
      for mode in identity gzip; do
        ae=()
        [[ $mode == gzip ]] && ae=("Accept-Encoding: gzip")
        rm -rf "$work/nginx-ks"
        cat >"$work/nginx-ks.conf" <<NGINX
worker_processes auto;
pid $work/nginx-ks.pid;
error_log $work/nginx-ks.err warn;
daemon off;
events { worker_connections 4096; }
http {
  access_log off;
  proxy_cache_path $work/nginx-ks levels=1:2 keys_zone=ks:64m max_size=20g inactive=1h;
  server {
    listen 127.0.0.1:8397;
    location / {
      proxy_pass http://127.0.0.1:9187;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Accept-Encoding "$( [[ $mode == gzip ]] && echo gzip )";
      proxy_cache ks;
      proxy_cache_valid 200 1h;
    }
  }
}
NGINX
        nginx -c "$work/nginx-ks.conf" & pids+=($!)
        for _ in $(seq 1 50); do curl -fsS "http://127.0.0.1:8397/3/movie/$first" -o /dev/null 2>&1 && break; sleep 0.1; done
        "$bin/larder-bench" warm --prefix "http://127.0.0.1:8397/3/movie/" --n "$n" --first-id "$first" ${ae:+--header "${ae[0]}"}
        bytes=$(curl -fsS ${ae:+-H "${ae[0]}"} "http://127.0.0.1:8397/3/movie/$first" | wc -c)
        echo "keyspace: $n keys, $record records, clients accepting ${mode} (${bytes} bytes sent per answer by nginx), wrk -t1 -c64 -d10s, median of 3"
        median_run "nginx proxy_cache (disk)" http://127.0.0.1:8397 /3/movie/ "$first" "$n" "${ae[@]}"
        kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true; unset 'pids[-1]'
        for hot in ${KEYSPACE_MODES:-default default-nodisk 1MiB 1MiB+disk}; do
          port=8398
          # The disk tier (LARDER_DISK_CACHE_DIR) is on by default ("auto":
          # the temporary folder, on disk here); "nodisk" and 1MiB turn it off.
          case $hot in
            default) start_larder "ks-$hot" $port 9187 api ;;
            default-nodisk) LARDER_DISK_CACHE_DIR=off start_larder "ks-$hot" $port 9187 api ;;
            # Every hit reads PostgreSQL.
            1MiB) LARDER_HOT_CACHE_BYTES=1048576 LARDER_DISK_CACHE_DIR=off start_larder "ks-$hot" $port 9187 api ;;
            # Hits beyond memory from the disk tier alone.
            1MiB+disk) LARDER_HOT_CACHE_BYTES=1048576 LARDER_DISK_CACHE_DIR="$work/disk-ks" \
              start_larder "ks-disk" $port 9187 api ;;
          esac
          "$bin/larder-bench" warm --prefix "http://127.0.0.1:$port/v1/tmdb/movie/" --n "$n" --first-id "$first" \
            --header "Authorization: Bearer $token" ${ae:+--header "${ae[0]}"}
          median_run "larder, in-process cache $hot" "http://127.0.0.1:$port" /v1/tmdb/movie/ "$first" "$n" \
            "Authorization: Bearer $token" "${ae[@]}"
          kill "${pids[-1]}"; wait "${pids[-1]}" 2>/dev/null || true; unset 'pids[-1]'
        done
      done
    done
  done
  stop_all
fi

if [[ $what == all || $what == image ]]; then
  # Issue 8: the image hit path (a ~100 KB image from the local folder)
  # beside nginx proxy_cache serving the same file from its disk cache;
  # then the resident memory of one `larder all` process while it fills a
  # 20 MiB image and while 64 clients download it.
  rss() { awk -v k="$2" '$1 == k":" {printf "%.1f", $2/1024}' "/proc/$1/status"; }
  file=kqjL17yufvn9OVLyXYpvtyrFfak.jpg
  start_fixture 9188 0
  LARDER_STORAGE_DIR="$work/assets" start_larder image 8399 9188 all
  larder_pid=${pids[-1]}
  auth=(-H "Authorization: Bearer $token")
  curl -fsS "${auth[@]}" "http://127.0.0.1:8399/v1/tmdb/image/w500/$file" -o /dev/null
  cat >"$work/nginx-img.conf" <<NGINX
worker_processes auto;
pid $work/nginx-img.pid;
error_log $work/nginx-img.err warn;
daemon off;
events { worker_connections 4096; }
http {
  access_log off;
  proxy_cache_path $work/nginx-img levels=1:2 keys_zone=img:10m max_size=1g inactive=1h;
  server {
    listen 127.0.0.1:8396;
    location / {
      proxy_pass http://127.0.0.1:9188;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_cache img;
      proxy_cache_valid 200 1h;
    }
  }
}
NGINX
  nginx -c "$work/nginx-img.conf" & pids+=($!)
  for _ in $(seq 1 50); do curl -fsS "http://127.0.0.1:8396/t/p/w500/$file" -o /dev/null 2>&1 && break; sleep 0.1; done
  bytes=$(curl -fsS "${auth[@]}" "http://127.0.0.1:8399/v1/tmdb/image/w500/$file" | wc -c)
  echo "image hit path: ${bytes}-byte image from the local folder, wrk -t1 -c64 -d10s, two alternating runs each (req/s, p99)"
  for round in 1 2; do
    echo "  nginx proxy_cache  run $round: $(wrk_rps "http://127.0.0.1:8396/t/p/w500/$file")"
    echo "  larder (with auth) run $round: $(wrk_rps "${auth[@]}" "http://127.0.0.1:8399/v1/tmdb/image/w500/$file")"
  done
  echo "  larder /t/p/ (no auth):   $(wrk_rps "http://127.0.0.1:8399/t/p/w500/$file")"
  echo "memory of the larder process (api + worker), MiB:"
  echo "  before the 20 MiB image: RSS $(rss "$larder_pid" VmRSS), peak so far $(rss "$larder_pid" VmHWM)"
  curl -fsS "${auth[@]}" "http://127.0.0.1:8399/v1/tmdb/image/original/$file" -o "$work/big.jpg"
  echo "  after filling it ($(wc -c <"$work/big.jpg") bytes): RSS $(rss "$larder_pid" VmRSS), peak $(rss "$larder_pid" VmHWM)"
  wrk -t1 -c64 -d10s "${auth[@]}" "http://127.0.0.1:8399/v1/tmdb/image/original/$file" |
    awk '/Requests\/sec/ {r=$2} /Transfer\/sec/ {t=$2} END {printf "  64 clients downloading it for 10 s: %s downloads/s, %s/s\n", r, t}'
  echo "  after: RSS $(rss "$larder_pid" VmRSS), peak $(rss "$larder_pid" VmHWM)"
  stop_all
fi
