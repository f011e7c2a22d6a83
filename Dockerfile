# larder: one image for every role (all, api, worker, migrate, keys…).
FROM rust:1.95-bookworm AS build
WORKDIR /src
COPY . .
# --locked: the image is built from Cargo.lock, never from newer crates.
RUN cargo build --release --locked --bin larder

FROM debian:bookworm-slim
RUN apt-get update \
 && apt-get install -y --no-install-recommends ca-certificates curl \
 && rm -rf /var/lib/apt/lists/* \
 && useradd --system --uid 10001 --home-dir /var/lib/larder --create-home larder \
 && install -d -o larder -g larder /var/lib/larder/assets
COPY --from=build /src/target/release/larder /usr/local/bin/larder
# The shipped schedules; mount your own over it.
COPY --from=build /src/schedules.toml /etc/larder/schedules.toml
USER larder
WORKDIR /var/lib/larder
ENV LARDER_LISTEN=0.0.0.0:8080 LARDER_STORAGE_DIR=/var/lib/larder/assets \
    LARDER_SCHEDULES=/etc/larder/schedules.toml
EXPOSE 8080
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD curl -fsS http://127.0.0.1:8080/readyz || exit 1
CMD ["larder", "all"]
