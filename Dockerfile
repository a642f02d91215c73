# syntax=docker/dockerfile:1

# Node 24, the active LTS (supported until April 2028); the project itself still runs on 20+.
# Build: compile TypeScript and build argon2 from source (its prebuilt binary is not
# portable everywhere), then drop dev dependencies.
FROM node:24-bookworm-slim AS build
RUN apt-get update \
 && apt-get install -y --no-install-recommends python3 make g++ \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
# patch-package (postinstall) applies patches/ to node_modules during npm ci.
COPY patches ./patches
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
COPY gen ./gen
COPY src ./src
COPY scripts/build-ui.ts ./scripts/
# npm run build: the server (tsc) and the sign-in portal's pages (esbuild, into dist/ui).
RUN npm run build && npm prune --omit=dev

# Run: production dependencies and compiled code only, owned by root and so read-only to
# keycard. Nothing is written at run time, so the root filesystem can be mounted read-only;
# /var/lib/keycard is the one place the node user may write (compose's keys volume).
FROM node:24-bookworm-slim AS runtime
ENV NODE_ENV=production PORT=8080
WORKDIR /app
COPY package.json package-lock.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
RUN install -d -o node -g node -m 0700 /var/lib/keycard
# The image's node user, by number, so that Kubernetes' runAsNonRoot can verify it is not root.
USER 1000:1000
EXPOSE 8080
# The slim image has no curl: the check is a few lines of Node asking 127.0.0.1:$PORT/healthz.
HEALTHCHECK --interval=10s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "dist/src/app/healthcheck-main.js"]
# Exec form: keycard is PID 1 and receives SIGTERM itself, which starts the drain.
CMD ["node", "dist/src/app/main.js"]
