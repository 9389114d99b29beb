// The e2e harness itself: which Chromium it picks, and the font rules it adds to pages.
import { existsSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { BUNDLED_FONT_FAMILIES, fontFaceCss, resolveChromium } from './browser'

describe('resolveChromium', () => {
  it('takes CHROMIUM_PATH first, and says so when it names nothing', async () => {
    await expect(resolveChromium({ CHROMIUM_PATH: '/nonexistent/chromium' })).rejects.toThrow(/CHROMIUM_PATH is set to \/nonexistent\/chromium, which does not exist/)
    expect(await resolveChromium({ CHROMIUM_PATH: process.execPath })).toEqual({ executablePath: process.execPath, source: 'CHROMIUM_PATH', env: {} })
  })

  it('takes /usr/bin/chromium when there is one, else the Chromium inside @sparticuz/chromium', async () => {
    const chosen = await resolveChromium({})
    if (existsSync('/usr/bin/chromium')) expect(chosen).toMatchObject({ source: 'system', executablePath: '/usr/bin/chromium' })
    else {
      expect(chosen.source).toBe('@sparticuz/chromium')
      expect(chosen.executablePath).toMatch(/node_modules\/\.cache\/question-insights-e2e\/chromium-[\d.]+\/chromium$/)
      expect(existsSync(chosen.executablePath)).toBe(true)
    }
  })
})

describe('fontFaceCss', () => {
  const css = fontFaceCss()
  it('declares every family the page names, served from the harness route', () => {
    for (const family of BUNDLED_FONT_FAMILIES) expect(css).toContain(`font-family: '${family}'`)
    expect(css).not.toMatch(/url\(\.\/files\//)
    expect(css).toMatch(/url\(\/__e2e-fonts\/@infolektuell\/noto-color-emoji\/files\/\d+\.woff2\)/)
  })

  it('leaves emoji to the emoji font: no CJK rule covers U+1F000 and above', () => {
    const cjk = css.split('@font-face').filter((rule) => rule.includes("'Noto Sans CJK SC'"))
    expect(cjk.length).toBeGreaterThan(50)
    for (const rule of cjk) {
      const ranges = /unicode-range:\s*([^;]+);/.exec(rule)![1].split(',')
      for (const r of ranges) expect(parseInt(r.trim().replace(/^U\+/i, '').split('-')[0], 16)).toBeLessThan(0x1f000)
    }
  })
})
