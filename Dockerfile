# syntax=docker/dockerfile:1
# Build stage: dev dependencies + TypeScript compile.
FROM node:22-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
RUN npm run build

# Runtime stage: production dependencies and compiled output only. No secrets are baked
# in: config comes from a mounted file (LWA_BROKER_CONFIG), secrets from Secrets Manager.
FROM node:22-bookworm-slim AS runtime
# The listen address comes from the config file (0.0.0.0 central, 127.0.0.1 sidecar): an
# image-level LWA_BROKER_HOST would override it and defeat sidecar mode's loopback check.
# A young generation of at most 3 × 4 MB: under load V8 otherwise grows it to 3 × 16 MB and
# keeps the pages (≈30 MB of RSS for the same live heap). Two malloc arenas: glibc otherwise
# makes up to 8 per core for Node's threads, each keeping freed memory (≈6 MB of RSS at
# 10,000 credentials). The old generation grows by a fifth over its live size before a full
# GC (--heap-growing-percent, which NODE_OPTIONS does not accept): V8's own factor, chosen from
# GC speed, sometimes let it reach 2.4 × the live heap under load (≈100 MB more RSS at 10,000
# credentials). The benchmarks run the broker with these settings.
ENV NODE_ENV=production \
    NODE_OPTIONS="--max-semi-space-size=4" \
    MALLOC_ARENA_MAX=2 \
    LWA_BROKER_CONFIG=/etc/lwa-broker/broker.yaml
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --ignore-scripts --no-audit --no-fund && npm cache clean --force
COPY --from=build /app/dist ./dist
COPY openapi.yaml ./
# A numeric non-root user, so runAsNonRoot can be verified by Kubernetes. Nothing is written
# at run time, so the root filesystem can be mounted read-only.
USER 10001:10001
EXPOSE 8787 8788
CMD ["node", "--heap-growing-percent=20", "dist/main.js"]
