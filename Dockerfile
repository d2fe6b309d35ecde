# mergeyard service image (Debian bookworm, two stages).
#   docker build -t mergeyard .
#   docker run -p 8080:8080 -v mergeyard-data:/var/lib/mergeyard \
#     -e MERGEYARD_ADMIN_TOKEN=... -e MERGEYARD_WEBHOOK_SECRET=... mergeyard
# scripts/prove-dockerfile.sh builds and checks this file with podman.

# --- build stage: every build dependency, a release build of the one binary ---
FROM debian:bookworm AS build
WORKDIR /src
COPY scripts/install-deps.sh scripts/install-deps.sh
RUN scripts/install-deps.sh --build && rm -rf /var/lib/apt/lists/*
COPY . .
RUN meson setup /build --buildtype=release \
 && ninja -C /build src/app/mergeyard \
 && install -D -m 0755 -s /build/src/app/mergeyard /out/mergeyard \
 && tools/runtime-packages.sh /out/mergeyard > /out/runtime-packages.txt

# --- runtime stage: run-time libraries only, a non-root user ---
# install-deps.sh --runtime brings what the service runs (git, bubblewrap...);
# runtime-packages.txt every package holding a shared library of the binary,
# so the image runs even when that list lags behind the code.
FROM debian:bookworm
COPY scripts/install-deps.sh /tmp/install-deps.sh
COPY --from=build /out/runtime-packages.txt /tmp/runtime-packages.txt
RUN /tmp/install-deps.sh --runtime \
 && apt-get update -qq \
 && xargs -a /tmp/runtime-packages.txt apt-get install -y -qq --no-install-recommends \
 && rm -rf /var/lib/apt/lists/* /tmp/install-deps.sh /tmp/runtime-packages.txt \
 && useradd --system --user-group --uid 10001 --home-dir /var/lib/mergeyard \
            --create-home --shell /usr/sbin/nologin mergeyard
COPY --from=build /out/mergeyard /usr/local/bin/mergeyard
COPY config/mergeyard.example.yml /etc/mergeyard/mergeyard.example.yml
ENV MERGEYARD_DATA_DIR=/var/lib/mergeyard \
    MERGEYARD_LISTEN=0.0.0.0:8080
USER mergeyard
WORKDIR /var/lib/mergeyard
VOLUME ["/var/lib/mergeyard"]
EXPOSE 8080
ENTRYPOINT ["mergeyard"]
CMD ["serve"]
