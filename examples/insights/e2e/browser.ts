// The browser of the end-to-end tests, with no browser download and no system fonts needed.
//
// Chromium, first found wins:
//   1. $CHROMIUM_PATH (when set and not empty; it must exist),
//   2. the system's /usr/bin/chromium (Debian's package),
//   3. the headless Chromium shipped inside the npm package @sparticuz/chromium (a devDependency),
//      unpacked once into node_modules/.cache/ (its NSS libraries are used only when the system
//      has none).
// Fonts: the page's font stack names 'Noto Sans', 'Noto Sans CJK SC', 'Noto Sans Arabic' and
// 'Noto Color Emoji'; every page opened in the context gets @font-face rules for them, served
// from npm font packages (@fontsource-variable/*, and @infolektuell/noto-color-emoji for the
// COLRv1 emoji Chromium draws: @fontsource's copy has only OpenType-SVG, which Chromium does
// not render), so emoji and CJK render the same on any machine.
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { createRequire } from 'node:module'
import { dirname, join, resolve, sep } from 'node:path'
import { brotliDecompressSync } from 'node:zlib'
import { chromium, type BrowserContext, type Page } from 'playwright-core'

const require = createRequire(import.meta.url)
const SYSTEM_CHROMIUM = '/usr/bin/chromium'
const FONT_PREFIX = '/__e2e-fonts/'

export type ChromiumSource = 'CHROMIUM_PATH' | 'system' | '@sparticuz/chromium'
export interface ResolvedChromium {
  executablePath: string
  source: ChromiumSource
  /** Extra environment for the browser process (library path of the bundled NSS). */
  env: Record<string, string>
}

/** Which Chromium the tests drive (see the order above). */
export async function resolveChromium(env: NodeJS.ProcessEnv = process.env): Promise<ResolvedChromium> {
  const fromEnv = env.CHROMIUM_PATH
  if (fromEnv) {
    if (!existsSync(fromEnv)) throw new Error(`CHROMIUM_PATH is set to ${fromEnv}, which does not exist: fix it or unset it.`)
    return { executablePath: fromEnv, source: 'CHROMIUM_PATH', env: {} }
  }
  if (existsSync(SYSTEM_CHROMIUM)) return { executablePath: SYSTEM_CHROMIUM, source: 'system', env: {} }
  return bundledChromium()
}

/** Unpacks @sparticuz/chromium's brotli-compressed browser once, atomically, and returns it. */
async function bundledChromium(): Promise<ResolvedChromium> {
  if (process.platform !== 'linux' || process.arch !== 'x64')
    throw new Error(
      `No Chromium for the end-to-end tests: @sparticuz/chromium ships linux-x64 only (this is ${process.platform}-${process.arch}). ` +
        'Install Chromium and set CHROMIUM_PATH.',
    )
  let root: string
  try {
    root = packageDir('@sparticuz/chromium')
  } catch {
    throw new Error('No Chromium for the end-to-end tests: /usr/bin/chromium is absent and @sparticuz/chromium is not installed (run `npm install` in examples/insights), or set CHROMIUM_PATH.')
  }
  const { version } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }
  const bin = join(root, 'bin')
  const cache = resolve(root, '..', '..', '.cache', 'question-insights-e2e')
  const dir = join(cache, `chromium-${version}`)
  if (!existsSync(join(dir, 'chromium'))) {
    // @sparticuz/chromium unpacks into os.tmpdir(); point that at a private staging folder and
    // move it into place only when complete, so an interrupted run never leaves half a browser.
    const staging = `${dir}.partial-${process.pid}`
    rmSync(staging, { recursive: true, force: true })
    mkdirSync(staging, { recursive: true })
    const savedTmp = process.env.TMPDIR
    process.env.TMPDIR = staging
    try {
      const { default: Sparticuz } = await import('@sparticuz/chromium')
      const exe = await Sparticuz.executablePath(bin)
      if (resolve(exe) !== join(staging, 'chromium')) throw new Error(`@sparticuz/chromium unpacked to ${exe}, expected ${staging}`)
      untar(brotliDecompressSync(readFileSync(join(bin, 'al2023.tar.br'))), join(staging, 'al2023'))
    } finally {
      if (savedTmp === undefined) delete process.env.TMPDIR
      else process.env.TMPDIR = savedTmp
    }
    try {
      renameSync(staging, dir)
    } catch (e) {
      // another process finished first: keep its copy
      rmSync(staging, { recursive: true, force: true })
      if (!existsSync(join(dir, 'chromium'))) throw e
    }
  }
  const env: Record<string, string> = {}
  if (!hasSystemLibrary('libnss3.so')) {
    env.LD_LIBRARY_PATH = [join(dir, 'al2023', 'lib'), process.env.LD_LIBRARY_PATH].filter(Boolean).join(':')
  }
  return { executablePath: join(dir, 'chromium'), source: '@sparticuz/chromium', env }
}

function hasSystemLibrary(name: string): boolean {
  const dirs = ['/usr/lib/x86_64-linux-gnu', '/lib/x86_64-linux-gnu', '/usr/lib64', '/lib64', '/usr/lib', '/lib']
  return dirs.some((d) => existsSync(join(d, name)))
}

/** Extracts the regular files and folders of a ustar archive (all @sparticuz/chromium ships). */
function untar(tar: Buffer, dest: string) {
  const field = (block: Buffer, start: number, len: number) => block.subarray(start, start + len).toString('latin1').replace(/\0.*$/s, '')
  for (let off = 0; off + 512 <= tar.length; ) {
    const header = tar.subarray(off, off + 512)
    if (header.every((b) => b === 0)) break
    const name = (field(header, 345, 155) ? `${field(header, 345, 155)}/` : '') + field(header, 0, 100)
    const size = parseInt(field(header, 124, 12).trim() || '0', 8)
    const type = String.fromCharCode(header[156] || 48)
    const target = resolve(dest, name)
    if (target !== dest && !target.startsWith(dest + sep)) throw new Error(`unsafe path in archive: ${name}`)
    if (type === '5') mkdirSync(target, { recursive: true })
    else if (type === '0' || type === '\0') {
      mkdirSync(dirname(target), { recursive: true })
      writeFileSync(target, tar.subarray(off + 512, off + 512 + size))
    }
    off += 512 + Math.ceil(size / 512) * 512
  }
}

interface FontPackage {
  pkg: string
  /** The family name the page asks for. */
  family: string
  /** Drop code points at or above this (the CJK font carries monochrome emoji; leave those to the emoji font). */
  below?: number
}

const FONTS: FontPackage[] = [
  { pkg: '@fontsource-variable/noto-sans', family: 'Noto Sans' },
  { pkg: '@fontsource-variable/noto-sans-arabic', family: 'Noto Sans Arabic' },
  { pkg: '@fontsource-variable/noto-sans-sc', family: 'Noto Sans CJK SC', below: 0x1f000 },
  { pkg: '@infolektuell/noto-color-emoji', family: 'Noto Color Emoji' },
]

/** Families the harness provides, as the page's CSS names them. */
export const BUNDLED_FONT_FAMILIES = FONTS.map((f) => f.family)

/** The folder of an installed package (found from its entry point: some export no package.json). */
function packageDir(pkg: string): string {
  for (let dir = dirname(require.resolve(pkg)); dir !== dirname(dir); dir = dirname(dir)) {
    const file = join(dir, 'package.json')
    if (existsSync(file) && (JSON.parse(readFileSync(file, 'utf8')) as { name?: string }).name === pkg) return dir
  }
  throw new Error(`cannot find the folder of ${pkg}`)
}

/** @font-face rules for the bundled fonts, their files served under FONT_PREFIX. */
export function fontFaceCss(): string {
  const rules: string[] = []
  for (const { pkg, family, below } of FONTS) {
    const css = readFileSync(join(packageDir(pkg), 'index.css'), 'utf8')
    for (const block of css.match(/@font-face\s*{[^}]*}/g) ?? []) {
      let rule = block
        .replace(/font-family:\s*'[^']*'/, `font-family: '${family}'`)
        .replace(/font-display:\s*\w+/, 'font-display: block')
        .replace(/url\(\.\/files\/([^)]+)\)/g, (_, file: string) => `url(${FONT_PREFIX}${pkg}/files/${file})`)
      if (below !== undefined) {
        const ranges = (/unicode-range:\s*([^;]+);/.exec(rule)?.[1] ?? '')
          .split(',')
          .map((r) => r.trim())
          .filter((r) => parseInt(r.replace(/^U\+/i, '').split('-')[0], 16) < below)
        if (ranges.length === 0) continue
        rule = rule.replace(/unicode-range:\s*[^;]+;/, `unicode-range: ${ranges.join(',')};`)
      }
      rules.push(rule)
    }
  }
  return rules.join('\n')
}

/** The font file a request under FONT_PREFIX asks for, or null when it names none of ours. */
function fontFile(pathname: string): string | null {
  const rest = decodeURIComponent(pathname.slice(pathname.indexOf(FONT_PREFIX) + FONT_PREFIX.length))
  const font = FONTS.find((f) => rest.startsWith(`${f.pkg}/files/`))
  if (!font) return null
  const file = rest.slice(font.pkg.length + '/files/'.length)
  if (!/^[\w.-]+\.woff2?$/.test(file)) return null
  return join(packageDir(font.pkg), 'files', file)
}

/** Adds the bundled fonts to every page of the context. */
export async function installFonts(context: BrowserContext) {
  const css = fontFaceCss()
  await context.route(`**${FONT_PREFIX}**`, async (route) => {
    const file = fontFile(new URL(route.request().url()).pathname)
    if (!file || !existsSync(file)) return route.fulfill({ status: 404, body: 'no such font' })
    return route.fulfill({ status: 200, path: file, contentType: file.endsWith('.woff2') ? 'font/woff2' : 'font/woff' })
  })
  await context.addInitScript((text: string) => {
    const add = () => {
      const style = document.createElement('style')
      style.dataset.e2eFonts = ''
      style.textContent = text
      ;(document.head ?? document.documentElement).appendChild(style)
    }
    // Init scripts run before the document has an element: add the rules as soon as <html>
    // exists, before the page's scripts lay text out (text shaped without them stays tofu).
    if (document.documentElement) add()
    else
      new MutationObserver((_, observer) => {
        if (!document.documentElement) return
        observer.disconnect()
        add()
      }).observe(document, { childList: true })
  }, css)
}

/**
 * Waits until the fonts the page's text needs have loaded and the text is drawn with them
 * (call it before a screenshot). When the font stack starts with `system-ui`, as the page's
 * does, Chromium keeps text that it shaped while one of its unicode-range faces was still
 * loading in the fallback (tofu), even after the face has loaded, until the text's font changes.
 * So each round sets a new font-feature-settings value on the root, naming a feature no font
 * has (nothing changes visually, but the text is shaped again), until no further face starts
 * loading.
 */
export async function fontsReady(page: Page) {
  await page.evaluate(async () => {
    const loaded = () => [...document.fonts].filter((f) => f.status === 'loaded').length
    const frame = () => new Promise((resolve) => requestAnimationFrame(() => resolve(null)))
    const root = document.documentElement
    for (let round = 0; round < 3; round++) {
      await document.fonts.ready
      const before = loaded()
      const n = Number(root.dataset.e2eReshape ?? 0) + 1
      root.dataset.e2eReshape = String(n)
      root.style.setProperty('font-feature-settings', `'qie${n % 10}' 1`)
      document.body.getBoundingClientRect()
      await frame()
      await document.fonts.ready
      if (loaded() === before) break
    }
  })
}

export interface LaunchOptions {
  args?: string[]
  viewport?: { width: number; height: number }
  timeout?: number
}

/** A persistent headless context in the resolved Chromium, with the bundled fonts. */
export async function launchContext(profileDir: string, options: LaunchOptions = {}) {
  const browser = await resolveChromium()
  const context = await chromium.launchPersistentContext(profileDir, {
    executablePath: browser.executablePath,
    headless: true,
    args: options.args,
    viewport: options.viewport,
    timeout: options.timeout ?? 60_000,
    env: { ...process.env, ...browser.env } as Record<string, string>,
  })
  await installFonts(context)
  return { context, browser }
}
