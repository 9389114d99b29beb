// Page settings from the query string (and build-time defaults).
//
//   ?tenant=<id>       tenant folder under the data base (empty: files directly in the base)
//   &data=<base>       data base URL, absolute or relative to the page (default "data")
//   &month=YYYY-MM     selected month (default: the latest in the data)
//   &view=insights|overview
//   &messageLink=<template>  link of a message id; {messageId} and {tenantId} are replaced
//                            (default "#message-{messageId}", or VITE_MESSAGE_LINK at build time)
//   &answerLink=<template>   link of a best answer; {guildId}, {channelId}, {messageId} (and
//                            {tenantId}) are replaced (default: the Discord message,
//                            https://discord.com/channels/{guildId}/{channelId}/{messageId},
//                            or VITE_ANSWER_LINK at build time)

export type View = 'insights' | 'overview'

export interface PageConfig {
  tenant: string
  dataBase: string
  month: string | null
  view: View | null
  messageLink: string
  answerLink: string
}

export const DEFAULT_MESSAGE_LINK: string =
  (import.meta.env?.VITE_MESSAGE_LINK as string | undefined) || '#message-{messageId}'

export const DEFAULT_ANSWER_LINK: string =
  (import.meta.env?.VITE_ANSWER_LINK as string | undefined) || 'https://discord.com/channels/{guildId}/{channelId}/{messageId}'

export function readConfig(search: string): PageConfig {
  const q = new URLSearchParams(search)
  const view = q.get('view')
  return {
    tenant: q.get('tenant') ?? '',
    dataBase: q.get('data') || 'data',
    month: q.get('month'),
    view: view === 'insights' || view === 'overview' ? view : null,
    messageLink: q.get('messageLink') || DEFAULT_MESSAGE_LINK,
    answerLink: q.get('answerLink') || DEFAULT_ANSWER_LINK,
  }
}

/** The query string with `changes` applied (null removes a key). */
export function withParams(search: string, changes: Record<string, string | null>): string {
  const q = new URLSearchParams(search)
  for (const [k, v] of Object.entries(changes)) {
    if (v === null) q.delete(k)
    else q.set(k, v)
  }
  const s = q.toString()
  return s ? `?${s}` : ''
}

export function messageHref(template: string, messageId: string, tenantId: string): string {
  return template
    .replaceAll('{messageId}', encodeURIComponent(messageId))
    .replaceAll('{tenantId}', encodeURIComponent(tenantId))
}

/** The link of a message whose guild and channel are known (a best answer). */
export function answerHref(template: string, m: { guildId: string; channelId: string; messageId: string }): string {
  return template
    .replaceAll('{guildId}', encodeURIComponent(m.guildId))
    .replaceAll('{tenantId}', encodeURIComponent(m.guildId))
    .replaceAll('{channelId}', encodeURIComponent(m.channelId))
    .replaceAll('{messageId}', encodeURIComponent(m.messageId))
}

/** Links to http(s) open in a new tab. */
export function linkTarget(href: string): '_blank' | undefined {
  return /^https?:/.test(href) ? '_blank' : undefined
}
