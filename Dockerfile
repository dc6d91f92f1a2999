# syntax=docker/dockerfile:1
# One image for the relay and the mocks (docker-compose.yml picks the command).
#   deps:    production dependencies only, from the lockfile (tsx is a runtime dependency:
#            relaylab runs its TypeScript directly, there is no build step)
#   runtime: the sources and those node_modules, run as the unprivileged `node` user
ARG NODE_VERSION=20
FROM node:${NODE_VERSION}-bookworm-slim AS base
ENV PNPM_HOME=/pnpm PATH=/pnpm:$PATH
RUN corepack enable
WORKDIR /app

FROM base AS deps
COPY package.json pnpm-lock.yaml ./
RUN --mount=type=cache,id=pnpm,target=/pnpm/store pnpm install --frozen-lockfile --prod

FROM node:${NODE_VERSION}-bookworm-slim AS runtime
ENV NODE_ENV=production \
    RELAY_HOST=0.0.0.0 \
    RELAY_PORT=8080 \
    RELAY_DATA_DIR=/data \
    RELAY_LOG_LEVEL=info
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
COPY package.json tsconfig.json ./
COPY lib ./lib
COPY protocols ./protocols
COPY mocks ./mocks
COPY relay ./relay
COPY deploy ./deploy
RUN mkdir -p /data && chown node:node /data
USER node
EXPOSE 8080
# Liveness of the process; compose checks readiness (/readyz) itself.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.RELAY_PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# SIGTERM reaches node directly (exec form, no shell): the relay drains before it exits.
STOPSIGNAL SIGTERM
CMD ["node", "--import", "tsx", "relay/cli.ts"]
