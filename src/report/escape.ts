/**
 * Text we did not write — model names, error messages, fingerprints, dataset sources, all of
 * which a server or a dataset controls — must not be able to break a report: close a table
 * cell, open an HTML tag, mention a user, or flood the terminal with escape sequences.
 */

/** Longest stretch of foreign text a report shows; an error message can be megabytes. */
export const DEFAULT_MAX_TEXT_LENGTH = 300

const ELLIPSIS = '…'

/** Zero-width space: breaks `@user` and `#123` autolinks without changing what the reader sees. */
const ZERO_WIDTH_SPACE = '\u200B'

/**
 * Cuts text to at most `maxLength` characters (an ellipsis included), never inside a surrogate
 * pair, so an emoji at the cut does not become a broken character.
 */
export function capLength(text: string, maxLength = DEFAULT_MAX_TEXT_LENGTH): string {
  if (text.length <= maxLength) return text
  if (maxLength <= 0) return ''
  let end = maxLength - ELLIPSIS.length
  const code = text.charCodeAt(end - 1)
  if (code >= 0xd800 && code <= 0xdbff) end -= 1
  return text.slice(0, Math.max(0, end)) + ELLIPSIS
}

/**
 * One line of plain text: control characters (ANSI escapes, bells, carriage returns that
 * rewrite a terminal line) and line breaks become spaces, then the length is capped.
 * For the terminal and annotations, where Markdown means nothing.
 */
export function sanitizeText(text: unknown, maxLength = DEFAULT_MAX_TEXT_LENGTH): string {
  const oneLine = String(text ?? '')
    // C0 and C1 controls, DEL, and the Unicode line/paragraph separators.
    // eslint-disable-next-line no-control-regex
    .replace(/[\u0000-\u001f\u007f-\u009f\u2028\u2029]+/g, ' ')
    // Bidirectional overrides can make text read differently from what it is.
    .replace(/[\u202a-\u202e\u2066-\u2069]/g, '')
  return capLength(oneLine.trim(), maxLength)
}

/** Characters with a meaning in GitHub Markdown that a backslash turns back into text. */
const MARKDOWN_PUNCTUATION = /[\\`*_{}[\]()#+\-.!|~=:$]/g

/**
 * Makes foreign text safe inline in GitHub Markdown, table cells included: one line, capped at
 * `maxLength`, Markdown punctuation backslash-escaped (`|` cannot close a cell, `` ` `` cannot
 * open code), `<`, `>` and `&` as entities (no HTML, no closing of a `<!-- -->` marker), and
 * `@user` / `#123` broken with a zero-width space so they notify no one and link nothing.
 */
export function escapeMarkdown(text: string, maxLength = DEFAULT_MAX_TEXT_LENGTH): string {
  return sanitizeText(text, maxLength)
    .replace(MARKDOWN_PUNCTUATION, character => `\\${character}`)
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/@(?=[\p{L}\p{N}_-])/gu, `@${ZERO_WIDTH_SPACE}`)
    .replace(/\\#(?=[\p{L}\p{N}])/gu, `\\#${ZERO_WIDTH_SPACE}`)
}

/**
 * Foreign text as an inline code span, for identifiers a reader may want to copy (hashes,
 * fingerprints): the fence is longer than any run of backticks inside, as CommonMark requires.
 * Line breaks are flattened and the length is capped; inside code nothing else is special,
 * except `|` in tables, which GitHub splits cells on even inside code, so it is escaped.
 */
export function inlineCode(text: string, maxLength = DEFAULT_MAX_TEXT_LENGTH): string {
  const content = sanitizeText(text, maxLength).replace(/\|/g, '\\|')
  if (content === '') return ''
  const longestRun = Math.max(0, ...(content.match(/`+/g) ?? []).map(run => run.length))
  const fence = '`'.repeat(longestRun + 1)
  // A space keeps a leading or trailing backtick from joining the fence.
  const padded = content.startsWith('`') || content.endsWith('`') ? ` ${content} ` : content
  return `${fence}${padded}${fence}`
}

/** Query parameters whose values are credentials often enough to never show them. */
const SECRET_QUERY_PARAMETER = /token|key|secret|signature|sig|password|auth|credential/i

/**
 * A URL as it may be shown: a password in it (`https://user:pass@host`) or a credential-like
 * query parameter (`?token=…`) is replaced by `***`. Text that is not a URL is returned as is.
 */
export function redactUrl(text: string): string {
  let url: URL
  try {
    url = new URL(text)
  } catch {
    return text
  }
  const secretParameters = [...url.searchParams.keys()].filter(name =>
    SECRET_QUERY_PARAMETER.test(name)
  )
  // Untouched URLs are returned as written: URL would normalize them (a trailing slash).
  if (!url.username && !url.password && secretParameters.length === 0) return text
  if (url.username || url.password) {
    url.username = '***'
    url.password = ''
  }
  for (const name of secretParameters) url.searchParams.set(name, '***')
  // URL escapes the marks it put in; show them as written.
  return url.href.replace(/%2A%2A%2A/gi, '***')
}
