# syntax=docker/dockerfile:1
# The secrets-agent image: `docker build -t secrets-agent .` (docs/docker.md says how to run it).
#
#   build    node:26 + dev dependencies: compile agent/ to dist/ (tsc) and emit the config JSON Schema
#   deps     node:26 + production dependencies only (npm ci --omit=dev), and the image's passwd/group files
#   distroless  the distroless Node.js 26 base, named so the runtime can copy its node binary with another mode
#   runtime  distroless Node.js 26: node and glibc, no shell, no package manager, no npm; runs as 10001:10001
#
# The runtime writes nothing outside the output directory (/secrets, to be mounted as tmpfs), so it runs with a
# read-only root filesystem. No build argument or environment variable carries a credential: Vault tokens, AWS
# keys and the like are given at run time (environment, mounted files, Kubernetes service-account tokens).

# The Node.js major of both bases: the current LTS (26, Active LTS since October 2026; --build-arg NODE_MAJOR=24
# gives the previous one). node:<major>-trixie-slim and distroless nodejs<major>-debian13 are both Debian 13, so
# the production node_modules are installed and run on the same glibc (none of them is native code anyway).
ARG NODE_MAJOR=26

FROM node:${NODE_MAJOR}-trixie-slim AS build
WORKDIR /src
COPY package.json package-lock.json ./
# No dependency has an install script; --ignore-scripts keeps it that way.
RUN npm ci --no-audit --no-fund --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY agent/ agent/
# The bin is an esbuild bundle of agent/main.ts (docs/docker.md "Memory and start-up").
COPY scripts/bundle.ts scripts/bundle.ts
RUN npm run build

FROM node:${NODE_MAJOR}-trixie-slim AS deps
WORKDIR /app
ENV NODE_ENV=production
COPY package.json package-lock.json ./
RUN npm ci --omit=dev --no-audit --no-fund --ignore-scripts
# The distroless base has no shell, so the user entry and the output directory are made here. The passwd file
# keeps the base's own entries (root, nobody, nonroot) and adds secrets-agent, whose home does not exist:
# nothing is ever written to HOME.
RUN mkdir -p /image/etc /image/secrets \
 && printf '%s\n' \
      'root:x:0:0:root:/root:/sbin/nologin' \
      'nobody:x:65534:65534:nobody:/nonexistent:/sbin/nologin' \
      'nonroot:x:65532:65532:nonroot:/home/nonroot:/sbin/nologin' \
      'secrets-agent:x:10001:10001:secrets-agent:/nonexistent:/sbin/nologin' > /image/etc/passwd \
 && printf '%s\n' 'root:x:0:' 'nobody:x:65534:' 'nonroot:x:65532:' 'secrets-agent:x:10001:' > /image/etc/group \
 && chmod 0644 /image/etc/passwd /image/etc/group \
 && chmod 0700 /image/secrets

FROM gcr.io/distroless/nodejs${NODE_MAJOR}-debian13:nonroot AS distroless

FROM distroless AS runtime
ENV NODE_ENV=production
WORKDIR /app
COPY --from=deps /image/etc/passwd /image/etc/group /etc/
# Code and dependencies belong to root and are only readable by the agent's user.
COPY --from=deps /app/node_modules ./node_modules
COPY --from=build /src/dist/agent ./dist/agent
COPY --from=build /src/dist/config.schema.json ./dist/config.schema.json
COPY package.json ./package.json
# The stock templates; mount a directory over /etc/secrets-agent/templates (or set `templates:`) to replace them.
COPY templates/ /etc/secrets-agent/templates/
# The default output directory, for runs without a volume; mount a tmpfs here in production.
COPY --from=deps --chown=10001:10001 /image/secrets /secrets
# node, execute-only for the agent's user (root-owned, 0711), in place of the base's 0755 one: the kernel marks a
# process non-dumpable when it executes a file it cannot read, so no process of UID 10001 (an application sharing
# the PID namespace and the UID for the `signal` notifier) can read the agent's /proc/<pid>/environ, mem or root/
# (docs/docker.md "Non-dumpable"). Signals still reach it: they depend on the UID only. The HEALTHCHECK runs it too.
# It holds while whatever executes node has no CAP_DAC_OVERRIDE/CAP_DAC_READ_SEARCH (run with every capability
# dropped, as the examples do); the agent checks its own dumpability at start and warns (ERR_CREDENTIALS_EXPOSED).
COPY --from=distroless --chmod=0711 /nodejs/bin/node /nodejs/bin/node
USER 10001:10001
# Exec form: node is PID 1 (without --init) and receives SIGTERM, SIGINT, SIGHUP and SIGUSR1 itself; the agent
# installs a handler for each. The defaults `templates: /etc/secrets-agent/templates` and `output: /secrets`
# need no configuration; give one with --config FILE or SECRETS_AGENT_CONFIG.
# The bin's node flags (agent/main.ts, docs/docker.md "Memory and start-up"): --max-semi-space-size=1 caps V8's
# young generation at 1 MiB per semi-space (idle RSS 91 -> 80 MiB); --heap-growing-percent=25 lets the old
# generation grow to 1.25 x the live set before the next full collection instead of up to 4 x (a 1,000-template
# cycle's peak 290 -> 140 MiB, for more GC work in that cycle), with no fixed cap that a large template set could hit.
ENTRYPOINT ["/nodejs/bin/node", "--max-semi-space-size=1", "--heap-growing-percent=25", "/app/dist/agent/main.js"]
CMD ["run"]
# Needs no curl or shell: node asks the agent's own listener. Follows SECRETS_AGENT_LISTEN when it is set (a
# wildcard host is asked on loopback); with `listen: ""` there is no listener: run with --no-healthcheck.
HEALTHCHECK --interval=10s --timeout=3s --start-period=60s --retries=3 \
  CMD ["/nodejs/bin/node", "-e", "const a=(process.env.SECRETS_AGENT_LISTEN||'127.0.0.1:9876').replace(/^(0\\.0\\.0\\.0|\\[::\\]):/,'127.0.0.1:');fetch('http://'+a+'/health/ready',{signal:AbortSignal.timeout(2500)}).then(r=>process.exit(r.ok?0:1),()=>process.exit(1))"]
LABEL org.opencontainers.image.title="secrets-agent" \
      org.opencontainers.image.description="Renders secrets from Vault, AWS Secrets Manager, a file or the environment into files on a tmpfs volume" \
      org.opencontainers.image.licenses="MIT"
