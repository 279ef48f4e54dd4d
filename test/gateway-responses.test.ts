/**
 * API Gateway's own error answers (gateway responses) are JSON for ANY message. The templates are
 * taken from the synthesized template and rendered by a small VTL interpreter (below) for the
 * constructs they may use, with hostile $context.error values: quotes, single quotes, backslashes,
 * newlines, control characters, non-ASCII text, and text that looks like VTL or JSON.
 *
 * The interpreter follows API Gateway's documented behaviour: `$util.escapeJavaScript` is Apache
 * Commons Lang's StringEscapeUtils.escapeJavaScript (it escapes `'` as `\'`, which is not valid JSON),
 * and `.replaceAll(regex, replacement)` is Java's String.replaceAll. Anything else that looks like
 * VTL (`$...` or `#...`) fails the test, so a static template cannot hide an unrendered directive.
 */
import { GATEWAY_ERRORS, gatewayErrorBody } from '../lib/gateway-responses';
import { buildStack } from './support/stack';

/** Apache Commons Lang 2.x StringEscapeUtils.escapeJavaScript, as API Gateway's $util.escapeJavaScript. */
function escapeJavaScript(s: string): string {
  let out = '';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    const hex = (n: number) => n.toString(16).toUpperCase().padStart(4, '0');
    if (c > 0xffff) {
      // Java strings are UTF-16: a supplementary character is two chars, each escaped.
      out += ch
        .split('')
        .map((u) => `\\u${hex(u.charCodeAt(0))}`)
        .join('');
    } else if (c > 0x7f) out += `\\u${hex(c)}`;
    else if (c < 32) out += ({ 8: '\\b', 9: '\\t', 10: '\\n', 12: '\\f', 13: '\\r' } as Record<number, string>)[c] ?? `\\u${hex(c)}`;
    else out += ({ '"': '\\"', "'": "\\'", '\\': '\\\\', '/': '\\/' } as Record<string, string>)[ch] ?? ch;
  }
  return out;
}

type Context = Record<string, string>;
/** Renders the VTL subset: `$context.x.y`, `$util.escapeJavaScript(<ref>)`, and `.replaceAll("a","b")` chains. */
function renderVtl(template: string, context: Context): string {
  const ref =
    /\$(?:!)?\{?(context(?:\.[A-Za-z]+)+|util\.escapeJavaScript\((\$context(?:\.[A-Za-z]+)+)\))\}?((?:\.replaceAll\("(?:[^"\\]|\\.)*","(?:[^"\\]|\\.)*"\))*)/g;
  const out = template.replace(ref, (_m, body: string, inner: string | undefined, calls: string) => {
    const lookup = (name: string) => {
      if (!(name in context)) throw new Error(`template uses ${name}, which the test does not provide`);
      return context[name];
    };
    let value = inner ? escapeJavaScript(lookup(inner.slice(1))) : lookup(body);
    for (const [, regex, replacement] of calls.matchAll(/\.replaceAll\("((?:[^"\\]|\\.)*)","((?:[^"\\]|\\.)*)"\)/g)) {
      // A Velocity string literal keeps its backslashes; Java's replaceAll reads the regex. These
      // templates use only `\\` (a literal backslash) and plain characters, which mean the same in JS.
      value = value.replace(new RegExp(regex, 'g'), replacement);
    }
    return value;
  });
  // Whatever is left that VTL would interpret is a mistake in the template.
  const leftover = template.replace(ref, '').match(/\$!?\{?[A-Za-z]|#(?:set|if|foreach|else|end|macro|parse|include|\{)|##|#\*/);
  if (leftover) throw new Error(`template has VTL the test cannot render: ${leftover[0]} in ${template}`);
  return out;
}

const HOSTILE = [
  'plain text',
  'object has missing required properties (["occurred_at","user"])',
  'instance type (string) does not match any allowed primitive type (allowed: ["object"]) at user\'s "user_id"',
  'a backslash \\ then \\" and \\\' and \\\\',
  'line one\nline two\r\n\ttabbed',
  'controls \u0000\u0001\u001f\u007f end',
  'unicode é — ✓ 😀 and \u2028 \u2029',
  '</script><script>alert(1)</script> // /* */',
  '$context.error.message #set($x = 1) ${x} ## not vtl here',
  '"}, "injected": true, "x": {"',
  "'",
  '\\',
  '',
];

const { template } = buildStack();
const responses = Object.values(template.toJSON().Resources as Record<string, { Type: string; Properties: Record<string, any> }>)
  .filter((r) => r.Type === 'AWS::ApiGateway::GatewayResponse')
  .map((r) => ({
    type: r.Properties.ResponseType as string,
    body: r.Properties.ResponseTemplates['application/json'] as string,
    headers: r.Properties.ResponseParameters,
  }));

describe('gateway responses are valid JSON for any message', () => {
  it('the API has a JSON gateway response for every type the contract lists', () => {
    expect(responses.map((r) => r.type).sort()).toEqual(Object.keys(GATEWAY_ERRORS).sort());
    for (const r of responses) expect(r.headers).toEqual({ 'gatewayresponse.header.Content-Type': "'application/json'" });
  });

  it("the interpreter is faithful: escapeJavaScript escapes single quotes as \\' (invalid JSON), as API Gateway documents", () => {
    expect(escapeJavaScript('it\'s "x" \\ /\n')).toBe('it\\\'s \\"x\\" \\\\ \\/\\n');
    expect(() => JSON.parse(`"${escapeJavaScript("it's")}"`)).toThrow();
    expect(renderVtl('"$util.escapeJavaScript($context.v).replaceAll("\\\\\'","\'")"', { 'context.v': "it's" })).toBe('"it\'s"');
    expect(() => renderVtl('{"a":"$context.other"}', {})).toThrow(/context.other/);
    expect(() => renderVtl('#set($a = 1){}', {})).toThrow(/VTL/);
  });

  describe.each(responses.map((r) => [r.type, r]))('%s', (_type, r) => {
    it.each(HOSTILE.map((m) => [JSON.stringify(m).slice(0, 60), m]))('renders JSON with message %s', (_label, message) => {
      const context: Context = {
        'context.error.message': message,
        'context.error.messageString': JSON.stringify(message),
        'context.error.validationErrorString': message,
        'context.error.responseType': r.type,
      };
      const text = renderVtl(r.body, context);
      const body = JSON.parse(text);
      expect(Object.keys(body).sort()).toEqual(['error', 'message']);
      expect(body.error).toBe(GATEWAY_ERRORS[r.type].code);
      expect(body.message.startsWith(GATEWAY_ERRORS[r.type].message)).toBe(true);
      // When the template carries the detail, it carries it exactly, nothing lost or injected.
      if (r.body.includes('$')) expect(body.message).toBe(`${GATEWAY_ERRORS[r.type].message} ${message}`);
    });
  });

  it('the local front door answers exactly what API Gateway renders for the constant responses', () => {
    for (const r of responses.filter((x) => !x.body.includes('$'))) expect(renderVtl(r.body, {})).toBe(gatewayErrorBody(r.type));
  });
});
