import { describe, expect, it } from '@jest/globals'
import {
  capLength,
  escapeMarkdown,
  inlineCode,
  redactUrl,
  sanitizeText
} from '../../src/report/escape.js'

/** The cells of one Markdown table row, split where GitHub splits them: on unescaped `|`. */
function cells(row: string): string[] {
  return row
    .replace(/^\||\|$/g, '')
    .split(/(?<!\\)\|/)
    .map(cell => cell.trim())
}

describe('escapeMarkdown', () => {
  it('keeps a hostile model name inside one table cell, with no HTML and no mention', () => {
    const escaped = escapeMarkdown('x|y <img src=x> @octocat')
    const row = `| ${escaped} | 812 ms |`
    expect(cells(row)).toHaveLength(2)
    expect(escaped).not.toMatch(/<img/)
    expect(escaped).toContain('&lt;img')
    expect(escaped).not.toMatch(/@octocat/)
    expect(escaped).toContain('@\u200Boctocat')
  })

  it.each([
    ['a\nb\r\nc', 'a b c'],
    ['`code`', '\\`code\\`'],
    ['**bold** _it_', '\\*\\*bold\\*\\* \\_it\\_'],
    ['[link](http://x)', '\\[link\\]\\(http\\://x\\)'],
    ['#12 fixed', '\\#\u200B12 fixed'],
    ['a & b', 'a &amp; b'],
    ['<!-- x -->', '&lt;\\!\\-\\- x \\-\\-&gt;'],
    ['back\\slash', 'back\\\\slash']
  ])('escapes %p as %p', (text, expected) => {
    expect(escapeMarkdown(text)).toBe(expected)
  })

  it('caps a 100 KB error message', () => {
    const escaped = escapeMarkdown('E'.repeat(100_000))
    expect(escaped.length).toBeLessThanOrEqual(300)
    expect(escaped.endsWith('…')).toBe(true)
  })
})

describe('sanitizeText', () => {
  it('removes terminal escape sequences and line breaks', () => {
    expect(sanitizeText('\u001b[2Jcleared\rrewritten\nnext')).toBe('[2Jcleared rewritten next')
  })

  it('removes bidirectional overrides', () => {
    expect(sanitizeText('abc\u202edef')).toBe('abcdef')
  })
})

describe('capLength', () => {
  it('never cuts an emoji in half', () => {
    const capped = capLength('ab😀cdef', 4)
    expect(capped).toBe('ab…')
  })

  it('leaves short text alone', () => {
    expect(capLength('short', 10)).toBe('short')
  })
})

describe('inlineCode', () => {
  it('uses a fence longer than any backtick run inside', () => {
    expect(inlineCode('a``b')).toBe('```a``b```')
  })

  it('pads content that starts with a backtick', () => {
    expect(inlineCode('`x')).toBe('`` `x ``')
  })

  it('escapes a pipe, which GitHub tables split on even inside code', () => {
    expect(inlineCode('a|b')).toBe('`a\\|b`')
  })
})

describe('redactUrl', () => {
  it.each([
    ['https://user:pass@example.com/v1', 'https://***@example.com/v1'],
    ['https://hf.co/file.json?token=abc&x=1', 'https://hf.co/file.json?token=***&x=1'],
    ['http://localhost:8080/v1', 'http://localhost:8080/v1'],
    ['http://host', 'http://host'],
    ['./data/sharegpt.json', './data/sharegpt.json']
  ])('shows %p as %p', (url, expected) => {
    expect(redactUrl(url)).toBe(expected)
  })
})
