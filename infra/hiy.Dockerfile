# hiy's image for infra/docker-compose.yml (the systemd install in infra/install.sh does not use it).
FROM node:22-bookworm-slim AS build
WORKDIR /opt/hiy
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build && npm prune --omit=dev

FROM node:22-bookworm-slim
# git serves the push remote; caddy is started by hiy when none answers on HIY_CADDY_ADMIN.
RUN apt-get update && apt-get install -y --no-install-recommends git caddy ca-certificates \
 && rm -rf /var/lib/apt/lists/*
COPY --from=build /opt/hiy /opt/hiy
RUN ln -s /opt/hiy/bin/hiy.js /usr/local/bin/hiy
ENV NODE_ENV=production HIY_DATA_DIR=/var/lib/hiy HOME=/var/lib/hiy
ENTRYPOINT ["node", "--max-semi-space-size=1", "/opt/hiy/bin/hiy.js"]
CMD ["server"]
