# syntax=docker/dockerfile:1
# Build: compile TypeScript with the dev dependencies, then keep only production ones.
FROM node:20-slim AS build
WORKDIR /app
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ \
  && rm -rf /var/lib/apt/lists/*
COPY package.json package-lock.json tsconfig.json tsconfig.build.json nest-cli.json ./
COPY src ./src
# npm ci builds the native better-sqlite3 addon and, through `prepare`, the app itself.
RUN npm ci --no-audit --no-fund && npm prune --omit=dev

# Run: no compilers, a non-root user, the SQLite file on a volume.
FROM node:20-slim
# Docker stops a container with SIGTERM, then SIGKILL after 10 s (`docker stop`'s default): the
# gateway's own shutdown deadline stays inside it, so the drain and the last write-behind flush
# finish. Give it longer with `docker run --stop-timeout` / compose's `stop_grace_period` (30 s in
# docker-compose.yml, which sets 10 s here).
ENV NODE_ENV=production PORT=8081 HOST=0.0.0.0 GATEWAY_SQLITE_PATH=/data/gateway.sqlite LOG_PRETTY=false \
  GATEWAY_SHUTDOWN_TIMEOUT_MS=8000
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
RUN mkdir -p /data && chown -R node:node /data
USER node
VOLUME ["/data"]
EXPOSE 8081
# Readiness, not liveness: healthy once start-up finished and the database answers.
HEALTHCHECK --interval=15s --timeout=3s --start-period=30s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||8081)+'/api/health/ready').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"
# node directly, not npm: npm does not forward SIGTERM, and the graceful drain needs it.
STOPSIGNAL SIGTERM
# The V8 flags of `npm start` (ADR 0013): a young generation sized for the hot path.
CMD ["node", "--max-semi-space-size=32", "dist/main.js"]
