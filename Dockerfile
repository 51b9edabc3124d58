# A ledger server in a container: `docker build -t cartulary . && docker run -p 8080:8080 -v cartulary:/var/lib/cartulary cartulary`
# The ledger's key and data live in the volume; back it up as a whole (the key cannot be re-made).
FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY src src
COPY bin bin
# `npm ci` runs `prepare`, which compiles src/ to dist/; then the dev tools are dropped.
RUN npm ci --no-audit --no-fund && npm prune --omit=dev

FROM node:20-bookworm-slim
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules node_modules
COPY --from=build /app/dist dist
COPY bin bin
COPY docs docs
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=8080 \
    CARTULARY_DATA=/var/lib/cartulary/data \
    CARTULARY_KEYS=/var/lib/cartulary/keys
RUN mkdir -p /var/lib/cartulary && chown node:node /var/lib/cartulary
USER node
VOLUME /var/lib/cartulary
EXPOSE 8080
# SIGTERM drains: every accepted submission gets its receipt before the process exits.
STOPSIGNAL SIGTERM
HEALTHCHECK --interval=30s --timeout=3s CMD ["node", "-e", "fetch('http://127.0.0.1:' + process.env.PORT + '/readyz').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
CMD ["node", "bin/cartulary.js", "serve"]
