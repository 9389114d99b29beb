import { fireEvent, render, screen, within } from '@testing-library/react'
import { describe, expect, it, vi } from 'vitest'
import { InsightsPage } from '../src/components/InsightsPage'
import { upgradeV1 } from '../src/lib/data'
import { ARABIC_QUESTION, CHINESE_QUESTION, EMOJI_TITLE, HELP_CHANNEL, LONG_QUESTION_5000, MINOR_TITLE, emptyData, largeData, monthlyData, toV1 } from './fixtures'

const link = '#message-{messageId}'

function titles() {
  return screen.getAllByTestId('cluster-title').map((e) => e.textContent)
}

describe('InsightsPage', () => {
  it('shows the latest month by default, clusters ranked by askers, then size', () => {
    render(<InsightsPage data={monthlyData()} messageLink={link} />)
    expect(screen.getByTestId('current-month').textContent).toBe('April 2024')
    expect(screen.getAllByTestId('cluster-askers').map((e) => e.textContent)).toEqual([
      'asked by 15 members',
      'asked by 9 members',
      'asked by 5 members',
      'asked by 3 members',
      'asked by 2 members',
    ])
    // 7 messages by 5 members rank above 9 messages by 3: people, not messages
    expect(screen.getAllByTestId('cluster-size').map((e) => e.textContent)).toEqual([
      '30 messages',
      '15 messages',
      '7 messages',
      '9 messages',
      '4 messages',
    ])
    expect(titles()[0]).toBe('Password reset')
    expect(titles()[1]).toBe(EMOJI_TITLE)
    // untitled cluster: its representative question
    expect(titles()).toContain('WSL2 backend for docker fails to install')
    const first = screen.getAllByTestId('cluster')[0]
    expect(within(first).getByTestId('cluster-unanswered').textContent).toBe('10% unanswered')
    expect(within(first).getByTestId('cluster-resolved').textContent).toBe('60% resolved')
    expect(within(first).getByLabelText('Keywords').textContent).toBe('passwordresetlogin')
  })

  it('links each answered cluster to its best answer on Discord', () => {
    const data = monthlyData()
    render(<InsightsPage data={data} messageLink={link} />)
    const cards = screen.getAllByTestId('cluster')
    const best = within(cards[0]).getByTestId('best-answer') as HTMLAnchorElement
    expect(best.textContent).toBe('best answer here')
    const answer = data.analyses['2024-04'].clusters.find((c) => c.title === 'Password reset')!.bestAnswer!
    expect(best.getAttribute('href')).toBe(`https://discord.com/channels/acme/${HELP_CHANNEL}/${answer.messageId}`)
    expect(best.getAttribute('target')).toBe('_blank')
    expect(within(cards[0]).getByTestId('best-answer-acknowledged').textContent).toContain('acknowledged')
    // the first substantial reply, not acknowledged by the asker
    expect(within(cards[1]).getByTestId('best-answer').getAttribute('href')).toBe(`https://discord.com/channels/acme/${HELP_CHANNEL}/1200000000000009999`)
    expect(within(cards[1]).queryByTestId('best-answer-acknowledged')).toBeNull()
    // no answer at all
    expect(within(cards[4]).queryByTestId('best-answer')).toBeNull()
    expect(within(cards[4]).getByTestId('no-answer').textContent).toBe('no answer yet')
  })

  it('says a cluster was replied to when no reply stands out as its answer', () => {
    const data = monthlyData()
    const replied = data.analyses['2024-04'].clusters.find((c) => c.title === 'Password reset')!
    replied.bestAnswer = null
    render(<InsightsPage data={data} messageLink={link} />)
    const card = screen.getAllByTestId('cluster')[0]
    expect(replied.unansweredRate).toBeLessThan(1)
    expect(within(card).queryByTestId('best-answer')).toBeNull()
    expect(within(card).getByTestId('no-answer').textContent).toBe('replied, no answer to link')
  })

  it('fills a custom best-answer link template', () => {
    render(<InsightsPage data={monthlyData()} messageLink={link} answerLink="/viewer/{guildId}/{channelId}/{messageId}" />)
    const href = within(screen.getAllByTestId('cluster')[1]).getByTestId('best-answer').getAttribute('href')
    expect(href).toBe(`/viewer/acme/${HELP_CHANNEL}/1200000000000009999`)
    expect(within(screen.getAllByTestId('cluster')[1]).getByTestId('best-answer').getAttribute('target')).toBeNull()
  })

  it('shows the month\'s asks, conversations, answered and resolved counts', () => {
    const data = monthlyData()
    render(<InsightsPage data={data} messageLink={link} />)
    const s = data.analyses['2024-04'].stats
    const stat = (name: string) => screen.getByTestId(`stat-${name}`).querySelector('dd')!.textContent
    expect(stat('asks')).toBe(String(s.asks))
    expect(stat('conversations')).toBe(String(s.conversations))
    expect(stat('answered')).toBe(String(s.answered))
    expect(stat('resolved')).toBe(String(s.resolved))
    expect(stat('clusters')).toBe('5')
    expect(screen.queryByTestId('legacy-note')).toBeNull()
  })

  it('lists the clusters asked by one member apart, collapsed', () => {
    render(<InsightsPage data={monthlyData()} messageLink={link} />)
    expect(screen.getAllByTestId('cluster')).toHaveLength(5)
    const section = screen.getByTestId('minor-clusters')
    const toggle = within(section).getByTestId('minor-toggle')
    expect(toggle.textContent).toContain('Asked by one member')
    expect(within(section).getByTestId('minor-count').textContent).toBe('(2 clusters)')
    expect(toggle.getAttribute('aria-expanded')).toBe('false')
    expect(within(section).queryByTestId('cluster')).toBeNull()
    expect(titles()).not.toContain(MINOR_TITLE)
    fireEvent.click(toggle)
    expect(toggle.getAttribute('aria-expanded')).toBe('true')
    const minor = within(section).getAllByTestId('cluster')
    expect(minor.map((c) => within(c).getByTestId('cluster-title').textContent)).toEqual([MINOR_TITLE, 'Is there a dark theme?'])
    expect(minor.map((c) => within(c).getByTestId('cluster-askers').textContent)).toEqual(['asked by 1 member', 'asked by 1 member'])
    expect(within(minor[0]).getByTestId('cluster-size').textContent).toBe('6 messages')
    expect(within(minor[0]).getByLabelText('Rank 6')).toBeTruthy()
    expect(within(minor[1]).getByTestId('best-answer')).toBeTruthy()
    // the chart ranks the main clusters only
    expect(within(screen.getByTestId('top-chart')).getAllByTestId('chart-bar')).toHaveLength(5)
  })

  it('filters the minor clusters too', () => {
    render(<InsightsPage data={monthlyData()} messageLink={link} />)
    fireEvent.change(screen.getByTestId('cluster-filter'), { target: { value: 'crash' } })
    expect(screen.getByTestId('no-matches')).toBeTruthy()
    expect(screen.getByTestId('minor-count').textContent).toBe('(1 of 2 clusters)')
    fireEvent.click(screen.getByTestId('minor-toggle'))
    expect(screen.getAllByTestId('cluster').map((c) => within(c).getByTestId('cluster-title').textContent)).toEqual([MINOR_TITLE])
  })

  it('renders a version 1 file (before asks): askers, resolved and best answers unknown, ranked by size', () => {
    render(<InsightsPage data={upgradeV1(toV1(monthlyData()))} messageLink={link} />)
    expect(screen.getByTestId('legacy-note').textContent).toContain('April 2024 was analysed before asks were counted')
    expect(screen.getAllByTestId('cluster-size').map((e) => e.textContent)).toEqual([
      '30 messages',
      '15 messages',
      '9 messages',
      '7 messages',
      '6 messages',
      '4 messages',
      '1 message',
    ])
    expect(new Set(screen.getAllByTestId('cluster-askers').map((e) => e.textContent))).toEqual(new Set(['askers unknown']))
    expect(new Set(screen.getAllByTestId('cluster-resolved').map((e) => e.textContent))).toEqual(new Set(['resolved unknown']))
    expect(screen.getAllByTestId('cluster-unanswered')[0].textContent).toBe('10% unanswered')
    expect(screen.queryByTestId('best-answer')).toBeNull()
    expect(screen.queryByTestId('no-answer')).toBeNull()
    expect(screen.queryByTestId('minor-clusters')).toBeNull()
    for (const name of ['asks', 'conversations', 'answered', 'resolved'])
      expect(screen.getByTestId(`stat-${name}`).querySelector('dd')!.textContent).toBe('unknown')
    expect(screen.getByTestId('stat-messages').querySelector('dd')!.textContent).not.toBe('unknown')
    expect(within(screen.getByTestId('top-chart')).getAllByTestId('chart-bar')[0].querySelector('title')?.textContent).toBe('Password reset — 30 messages')
  })

  it('lists only the months in the data, newest first, and switches month', () => {
    const onMonthChange = vi.fn()
    render(<InsightsPage data={monthlyData()} messageLink={link} onMonthChange={onMonthChange} />)
    const select = screen.getByTestId('month-select') as HTMLSelectElement
    expect([...select.options].map((o) => o.value)).toEqual(['2024-04', '2024-03', '2024-02', '2024-01'])
    expect(select.value).toBe('2024-04')
    fireEvent.change(select, { target: { value: '2024-01' } })
    expect(onMonthChange).toHaveBeenCalledWith('2024-01')
    expect(screen.getByTestId('current-month').textContent).toBe('January 2024')
    expect(titles()).toEqual(['Password reset', 'How do I install Docker on Windows?', '日本語の設定'])
  })

  it('honours a requested month, and ignores one not in the data', () => {
    const { unmount } = render(<InsightsPage data={monthlyData()} month="2024-03" messageLink={link} />)
    expect(screen.getByTestId('current-month').textContent).toBe('March 2024')
    unmount()
    render(<InsightsPage data={monthlyData()} month="2030-01" messageLink={link} />)
    expect(screen.getByTestId('current-month').textContent).toBe('April 2024')
  })

  it('draws a bar per top cluster', () => {
    render(<InsightsPage data={monthlyData()} messageLink={link} />)
    const bars = within(screen.getByTestId('top-chart')).getAllByTestId('chart-bar')
    expect(bars).toHaveLength(5)
    expect(bars[0].querySelector('title')?.textContent).toBe('Password reset — 15 members')
    expect(screen.getByTestId('top-chart').querySelector('figcaption')!.textContent).toBe('Top 5 clusters by members who asked')
    const widths = bars.map((b) => Number(b.querySelector('rect')!.getAttribute('width')))
    expect(widths).toEqual([...widths].sort((a, b) => b - a))
  })

  it('marks new clusters and draws trends of recurring ones', () => {
    render(<InsightsPage data={monthlyData()} messageLink={link} />)
    const cards = screen.getAllByTestId('cluster')
    const byTitle = (t: string) => cards.find((c) => within(c).getByTestId('cluster-title').textContent === t)!
    expect(within(byTitle(EMOJI_TITLE)).getByTestId('badge-new')).toBeTruthy()
    expect(within(byTitle(EMOJI_TITLE)).queryByTestId('sparkline')).toBeNull()
    expect(within(byTitle('Password reset')).queryByTestId('badge-new')).toBeNull()
    const spark = within(byTitle('Password reset')).getByTestId('sparkline')
    expect(spark.getAttribute('aria-label')).toBe('Size per month: January 2024: 12, February 2024: 0, March 2024: 20, April 2024: 30')
    expect(screen.getAllByTestId('badge-new')).toHaveLength(2)
  })

  it('expands a cluster: samples, representative, message links', () => {
    render(<InsightsPage data={monthlyData()} messageLink="https://chat.example/{tenantId}/m/{messageId}" />)
    const card = screen.getAllByTestId('cluster')[1]
    expect(within(card).getByTestId('cluster-title').textContent).toBe(EMOJI_TITLE)
    const toggle = within(card).getByTestId('cluster-toggle')
    expect(toggle.getAttribute('aria-expanded')).toBe('false')
    expect(within(card).queryByTestId('cluster-details')).toBeNull()
    fireEvent.click(toggle)
    expect(toggle.getAttribute('aria-expanded')).toBe('true')
    const details = within(card).getByTestId('cluster-details')
    expect(within(details).getByText('How do I deploy to production? 🚀', { selector: 'p' })).toBeTruthy()
    const samples = within(details).getByTestId('cluster-samples')
    expect(within(samples).getAllByRole('listitem').map((l) => l.textContent)).toContain(ARABIC_QUESTION)
    expect(within(samples).getByText(CHINESE_QUESTION).getAttribute('dir')).toBe('auto')
    const links = within(within(details).getByTestId('message-ids')).getAllByRole('link')
    expect(links).toHaveLength(15)
    expect(links[0].getAttribute('href')).toMatch(/^https:\/\/chat\.example\/acme\/m\/\d+$/)
    fireEvent.click(toggle)
    expect(within(card).queryByTestId('cluster-details')).toBeNull()
  })

  it('renders a 5,000-character question in full when expanded', () => {
    render(<InsightsPage data={monthlyData()} messageLink={link} />)
    const card = screen.getAllByTestId('cluster').find((c) => c.textContent!.includes('Why does my build fail when'))!
    expect(within(card).getByTestId('cluster-title').textContent).toHaveLength(5000)
    fireEvent.click(within(card).getByTestId('cluster-toggle'))
    expect(within(within(card).getByTestId('cluster-samples')).getByText(LONG_QUESTION_5000)).toBeTruthy()
    // the head stays clamped; the details show the representative in full
    expect(within(within(card).getByTestId('cluster-details')).getByText(LONG_QUESTION_5000, { selector: 'p' })).toBeTruthy()
  })

  it('shows a month with no clusters', () => {
    render(<InsightsPage data={monthlyData()} month="2024-02" messageLink={link} />)
    expect(screen.getByTestId('no-clusters').textContent).toContain('No clusters in February 2024')
    expect(screen.getByTestId('no-clusters').textContent).toContain('4 questions were found')
    expect(screen.queryByTestId('top-chart')).toBeNull()
    expect(screen.getByTestId('month-select')).toBeTruthy()
  })

  it('shows a file with no months', () => {
    render(<InsightsPage data={emptyData()} messageLink={link} />)
    expect(screen.getByTestId('no-data').textContent).toContain('No question analysis yet')
  })

  it('pages 3,000 clusters, 50 at a time', () => {
    render(<InsightsPage data={largeData()} messageLink={link} />)
    expect(screen.getAllByTestId('cluster')).toHaveLength(50)
    expect(screen.getAllByTestId('page-indicator')[0].textContent).toBe('Page 1 of 60')
    expect(screen.getByTestId('cluster-count').textContent).toBe('3,000 clusters, 50 per page')
    fireEvent.click(screen.getAllByRole('button', { name: 'Next' })[0])
    expect(screen.getAllByTestId('page-indicator')[0].textContent).toBe('Page 2 of 60')
    expect(screen.getAllByTestId('cluster')[0].getAttribute('data-cluster-id')).toBe('50')
    fireEvent.click(screen.getAllByRole('button', { name: 'Last page' })[0])
    const last = screen.getAllByTestId('cluster')
    expect(last).toHaveLength(50)
    expect(last[last.length - 1].getAttribute('data-cluster-id')).toBe('2999')
    expect(within(last[last.length - 1]).getByLabelText('Rank 3000')).toBeTruthy()
  })

  it('filters clusters by title, question or keyword', () => {
    render(<InsightsPage data={largeData()} messageLink={link} />)
    fireEvent.change(screen.getByTestId('cluster-filter'), { target: { value: 'feature2999' } })
    expect(screen.getAllByTestId('cluster').map((c) => c.getAttribute('data-cluster-id'))).toEqual(['2999'])
    expect(screen.getByTestId('cluster-count').textContent).toBe('1 of 3,000 clusters')
    fireEvent.change(screen.getByTestId('cluster-filter'), { target: { value: 'nothing like this' } })
    expect(screen.getByTestId('no-matches')).toBeTruthy()
  })

  it('caps long message id lists until asked', () => {
    const d = monthlyData()
    const c = d.analyses['2024-04'].clusters[0]
    c.messageIds = Array.from({ length: 250 }, (_, i) => `id${i}`)
    render(<InsightsPage data={d} messageLink={link} />)
    const card = screen.getAllByTestId('cluster')[0]
    fireEvent.click(within(card).getByTestId('cluster-toggle'))
    const links = () => within(within(card).getByTestId('message-ids')).getAllByRole('link')
    expect(links()).toHaveLength(100)
    expect(links()[0].getAttribute('href')).toBe('#message-id0')
    fireEvent.click(within(card).getByRole('button', { name: 'Show all 250' }))
    expect(links()).toHaveLength(250)
  })
})
