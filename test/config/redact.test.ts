import test from 'ava';
import { redactConfig, redactUrl, redactWebhookUrl } from '../../agent/config/redact.js';
import { configSchema } from '../../agent/config/schema.js';

test('the Vault token and notifier headers print as true, everything else as it is', (t) => {
  const config = configSchema.parse({
    vault: { address: 'https://vault:8200', auth: { token: 'hvs.secret-token', tokenFile: '/vault/token' } },
    notifiers: { hook: { http: { url: 'http://127.0.0.1:8000/-/reload', headers: { Authorization: 'Bearer abc123' } } } },
  });
  const printed = redactConfig(config);
  const text = JSON.stringify(printed);
  t.false(text.includes('hvs.secret-token'));
  t.false(text.includes('abc123'));
  t.like(printed, {
    vault: { address: 'https://vault:8200', auth: { token: true, tokenFile: '/vault/token', method: 'token' } },
    notifiers: { hook: { http: { url: 'http://127.0.0.1:8000/-/reload', headers: { Authorization: true } } } },
  });
  t.is(config.vault.auth.token, 'hvs.secret-token', 'the config itself is untouched');
});

test('an unset token stays absent rather than printing as true', (t) => {
  const printed = redactConfig(configSchema.parse({})) as { vault: { auth: Record<string, unknown> } };
  t.false(Object.hasOwn(printed.vault.auth, 'token'));
});

test('passwords and query values inside URLs are redacted', (t) => {
  t.is(redactUrl('https://user:pa55@vault:8200'), 'https://user:redacted@vault:8200/');
  t.is(redactUrl('http://127.0.0.1/-/reload?key=s3cret&key=x'), 'http://127.0.0.1/-/reload?key=redacted');
  t.is(redactUrl('http://127.0.0.1:8000/-/reload'), 'http://127.0.0.1:8000/-/reload');
  const printed = JSON.stringify(redactConfig(configSchema.parse({ vault: { address: 'https://u:pa55@vault:8200' } })));
  t.false(printed.includes('pa55'));
});

test('a notifier URL also hides path segments that could be a webhook token; words stay', (t) => {
  t.is(redactWebhookUrl('https://hooks.slack.com/services/T0AAAAAAA/B0BBBBBBB/abcdefghijklmnopqrstuvwx'), 'https://hooks.slack.com/services/redacted/redacted/redacted');
  t.is(redactWebhookUrl('https://discord.com/api/webhooks/112233/tokentokentokentokentokenTOKEN'), 'https://discord.com/api/webhooks/redacted/redacted');
  t.is(redactWebhookUrl('http://127.0.0.1:8000/-/reload'), 'http://127.0.0.1:8000/-/reload');
  t.is(redactWebhookUrl('http://u:pw@app:8080/reload?sig=abc'), 'http://u:redacted@app:8080/reload?sig=redacted');
  t.is(redactWebhookUrl('not a url'), 'not a url');
});

test('the printed config shows a notifier URL with its token-like path segments hidden', (t) => {
  const config = { notifiers: { slack: { http: { url: 'https://hooks.slack.com/services/T0AAAAAAA/B0BBBBBBB/abcdefghijklmnopqrstuvwx', method: 'POST', headers: {} } } } };
  t.false(JSON.stringify(redactConfig(config as never)).includes('abcdefghijklmnopqrstuvwx'));
});
