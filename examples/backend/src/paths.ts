import fs from 'node:fs'
import path from 'node:path'

/** The examples/backend folder, found from this file whether it runs from src/ (tsx) or dist/src/. */
function findBackendRoot(): string {
  let dir = __dirname
  for (;;) {
    const pkg = path.join(dir, 'package.json')
    if (fs.existsSync(pkg)) {
      try {
        if ((JSON.parse(fs.readFileSync(pkg, 'utf8')) as { name?: string }).name === 'question-insights-backend') return dir
      } catch {
        // not ours; keep walking
      }
    }
    const up = path.dirname(dir)
    if (up === dir) throw new Error(`cannot find the question-insights-backend package above ${__dirname}`)
    dir = up
  }
}

export const backendRoot = findBackendRoot()
/** The published JSON Schema of questions.json (examples/schema/questions.schema.json). */
export const questionsSchemaPath = path.join(backendRoot, '..', 'schema', 'questions.schema.json')
/** The one builder of questions.json (scripts/questions-json.js at the repository root; `npm run demo` uses it too). */
export const questionsJsonBuilderPath = path.join(backendRoot, '..', '..', 'scripts', 'questions-json.js')
