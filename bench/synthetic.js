'use strict'
// Deterministic generators of realistic chat text for benchmarks: questions and statements in
// the style of a developer-tool Discord server, from templates, topics and entities, seeded.

function rng(seed) {
  let s = seed >>> 0 || 1
  return () => {
    s ^= s << 13
    s ^= s >>> 17
    s ^= s << 5
    return (s >>> 0) / 4294967296
  }
}

const pick = (r, xs) => xs[Math.floor(r() * xs.length)]

const TOPICS = {
  install: { objects: ['the CLI', 'the desktop app', 'the SDK', 'the plugin', 'version 2.3', 'the nightly build'], platforms: ['Windows 11', 'macOS', 'Ubuntu 22.04', 'an M1 Mac', 'WSL', 'Arch', 'a Raspberry Pi'] },
  docker: { objects: ['the docker image', 'docker compose', 'the container', 'the helm chart', 'the volume mount'], platforms: ['kubernetes', 'a VPS', 'Docker Desktop', 'Portainer', 'ECS'] },
  login: { objects: ['my password', 'my account', '2FA', 'the login page', 'SSO', 'my API token'], platforms: ['the web app', 'the mobile app', 'Firefox', 'Safari'] },
  billing: { objects: ['my subscription', 'the invoice', 'the refund', 'the team plan', 'my card'], platforms: ['the dashboard', 'Stripe', 'PayPal'] },
  api: { objects: ['the REST API', 'the webhook', 'the rate limit', 'pagination', 'the GraphQL endpoint', 'the websocket'], platforms: ['Python', 'Node', 'Go', 'curl', 'Postman'] },
  bot: { objects: ['the bot', 'slash commands', 'the welcome message', 'role sync', 'the music bot'], platforms: ['my server', 'a private channel', 'threads', 'voice channels'] },
  database: { objects: ['the Postgres connection', 'migrations', 'the backup', 'the SQLite file', 'the Redis cache'], platforms: ['production', 'staging', 'local dev', 'CI'] },
  performance: { objects: ['the app', 'the build', 'the sync job', 'search', 'the dashboard'], platforms: ['large projects', 'a slow network', 'an old laptop', 'the free tier'] },
}
const VERBS = ['install', 'configure', 'update', 'reset', 'set up', 'debug', 'migrate', 'remove', 'enable', 'fix']
const FAILS = ['crashes', 'hangs', 'fails', 'returns 500', 'times out', 'shows a blank screen', 'throws a permission error', 'stopped working']
const QUESTION_TEMPLATES = [
  (r, t) => `How do I ${pick(r, VERBS)} ${pick(r, t.objects)} on ${pick(r, t.platforms)}?`,
  (r, t) => `why does ${pick(r, t.objects)} ${pick(r, FAILS)} on ${pick(r, t.platforms)}?`,
  (r, t) => `is there a way to ${pick(r, VERBS)} ${pick(r, t.objects)} without admin rights?`,
  (r, t) => `anyone know how to ${pick(r, VERBS)} ${pick(r, t.objects)}`,
  (r, t) => `Can I ${pick(r, VERBS)} ${pick(r, t.objects)} from ${pick(r, t.platforms)}?`,
  (r, t) => `what's the best way to ${pick(r, VERBS)} ${pick(r, t.objects)}?`,
  (r, t) => `${pick(r, t.objects)} ${pick(r, FAILS)} after the update, any idea why?`,
  (r, t) => `does ${pick(r, t.objects)} work with ${pick(r, t.platforms)}?`,
  (r, t) => `where can I find the docs for ${pick(r, t.objects)}?`,
  (r, t) => `has anyone managed to ${pick(r, VERBS)} ${pick(r, t.objects)} on ${pick(r, t.platforms)}?`,
]
const STATEMENTS = [
  (r, t) => `${pick(r, t.objects)} ${pick(r, FAILS)} for me too`,
  (r, t) => `I managed to ${pick(r, VERBS)} ${pick(r, t.objects)} on ${pick(r, t.platforms)}, thanks!`,
  (r) => pick(r, ['lol', 'thanks!', 'ok', 'nice 🎉', 'gm everyone', 'brb', 'that worked', 'same here', '+1', 'ty ❤️', 'good morning', 'haha yeah']),
  (r, t) => `try restarting ${pick(r, t.objects)}, that fixed it for me`,
  (r, t) => `you need to ${pick(r, VERBS)} ${pick(r, t.objects)} first`,
  (r) => `here's my log: ${'ERROR worker exited with code 137 at '.repeat(1 + Math.floor(r() * 20))}`,
  (r) => pick(r, ['https://example.com/docs/setup', '!play lofi', '<@123456789> 👍', '🙂🙂', '']),
  (r, t) => `just shipped a new version of my plugin for ${pick(r, t.platforms)}`,
]

function topicOf(r) {
  return TOPICS[pick(r, Object.keys(TOPICS))]
}

/** `n` distinct-ish questions. */
function questions(n, seed = 1) {
  const r = rng(seed)
  const out = []
  for (let i = 0; i < n; i++) out.push(pick(r, QUESTION_TEMPLATES)(r, topicOf(r)))
  return out
}

/** `n` chat messages, about `questionShare` of them questions. */
function messages(n, seed = 1, questionShare = 0.1) {
  const r = rng(seed)
  const out = []
  for (let i = 0; i < n; i++) {
    const t = topicOf(r)
    out.push(r() < questionShare ? pick(r, QUESTION_TEMPLATES)(r, t) : pick(r, STATEMENTS)(r, t))
  }
  return out
}

module.exports = { rng, pick, questions, messages }
