# syntax=docker/dockerfile:1
# One image for the relay and the mocks (docker-compose.yml picks the command).
#   build:   every dependency from the lockfile, then `pnpm build`: esbuild compiles the relay
#            and the mocks to JavaScript (dist/relay/cli.js, dist/mocks/cli.js)
#   deps:    production dependencies only, from the lockfile
#   runtime: the compiled JavaScript and those node_modules, run by node itself (no tsx, no
#            wrapper process) as the unprivileged `node` user
# .ci/dockerfile-as-script.mjs runs these instructions as a script on a machine without Docker.
ARG NODE_VERSION=20
FROM node:${NODE_VERSION}-bookworm-slim AS base
ENV PNPM_HOME=/pnpm PATH=/pnpm/bin:$PATH
# The pnpm that package.json's packageManager names, installed by npm as .ci/run does (corepack
# would verify registry signatures that a registry mirror may not serve).
RUN npm install --global --prefix "$PNPM_HOME" --no-audit --no-fund --loglevel=error pnpm@9.15.9
WORKDIR /app
COPY package.json pnpm-lock.yaml ./

FROM base AS build
RUN --mount=type=cache,id=pnpm,target=/pnpm/store pnpm install --frozen-lockfile
COPY tsconfig.json ./
COPY lib ./lib
COPY protocols ./protocols
COPY mocks ./mocks
COPY relay ./relay
RUN pnpm build

FROM base AS deps
RUN --mount=type=cache,id=pnpm,target=/pnpm/store pnpm install --frozen-lockfile --prod

FROM node:${NODE_VERSION}-bookworm-slim AS runtime
ENV NODE_ENV=production \
    RELAY_HOST=0.0.0.0 \
    RELAY_PORT=8080 \
    RELAY_DATA_DIR=/data \
    RELAY_LOG_LEVEL=info
WORKDIR /app
COPY --from=deps /app/node_modules ./node_modules
# package.json says "type": "module": the bundles are ES modules.
COPY package.json ./
COPY --from=build /app/dist ./dist
COPY deploy ./deploy
RUN mkdir -p /data && chown node:node /data
USER node
EXPOSE 8080
# Liveness of the process; compose checks readiness (/readyz) itself.
HEALTHCHECK --interval=10s --timeout=3s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:'+(process.env.RELAY_PORT||8080)+'/healthz').then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
# SIGTERM reaches node directly (exec form, no shell): the relay drains before it exits.
STOPSIGNAL SIGTERM
# The node flags of package.json's `relay` script (V8's young generation at its full size from
# the start; the README's "Memory" says why), then source maps for stack traces.
CMD ["node", "--min-semi-space-size=16", "--enable-source-maps", "dist/relay/cli.js"]
