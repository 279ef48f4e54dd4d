/**
 * API Gateway's own error answers for the REST API, in the contract's JSON shape, keyed by API
 * Gateway response type. Plain data: the stack renders them as gateway responses and the local
 * front door answers with the same text.
 */
export interface GatewayError {
  code: string;
  message: string;
  statusCode?: string;
  /** A $context variable whose text API Gateway appends to `message` (escaped). Default: none. */
  detail?: 'validationErrorString' | 'message';
}

export const GATEWAY_ERRORS: Readonly<Record<string, GatewayError>> = {
  UNAUTHORIZED: {
    code: 'unauthorized',
    message:
      'Missing or invalid credentials: ingest routes need the API key (x-api-key, or Authorization with or without Bearer); event and listener routes need an Auth0 access token (Authorization: Bearer).',
    statusCode: '401',
  },
  INVALID_API_KEY: { code: 'forbidden', message: 'The API key is not valid for this API.', statusCode: '403' },
  ACCESS_DENIED: {
    code: 'forbidden',
    message: "Access denied: an ingest API key is accepted only on its own tenant's paths (/{tenant}/...); use the key of the tenant named in the URL.",
    statusCode: '403',
  },
  MISSING_AUTHENTICATION_TOKEN: {
    code: 'not_found',
    message: 'No such route: use POST /{tenant}/log-stream, POST /{tenant}/actions/{trigger}, GET /{tenant}/events, GET /{tenant}/listeners or GET /health.',
    statusCode: '404',
  },
  THROTTLED: { code: 'throttled', message: 'Too many requests: slow down and retry (the usage plan throttles this key).', statusCode: '429' },
  QUOTA_EXCEEDED: {
    code: 'quota_exceeded',
    message: 'The daily request quota of this API key is used up; retry tomorrow or raise throttle.quotaPerDay.',
    statusCode: '429',
  },
  REQUEST_TOO_LARGE: { code: 'too_large', message: 'The request is too large: split the batch.', statusCode: '413' },
  BAD_REQUEST_PARAMETERS: { code: 'bad_request', message: 'Missing or invalid request parameters.', statusCode: '400' },
  BAD_REQUEST_BODY: { code: 'bad_request', message: 'The request body is not valid.', statusCode: '400', detail: 'validationErrorString' },
  INTEGRATION_TIMEOUT: { code: 'timeout', message: 'The request timed out; nothing may have been accepted: retry.', statusCode: '504' },
  DEFAULT_4XX: { code: 'bad_request', message: 'The request was refused.' },
  DEFAULT_5XX: { code: 'unavailable', message: 'The service failed to process the request; nothing may have been accepted: retry.' },
};

/** The JSON body of a gateway error. */
export const gatewayErrorBody = (type: keyof typeof GATEWAY_ERRORS): string =>
  JSON.stringify({ error: GATEWAY_ERRORS[type].code, message: GATEWAY_ERRORS[type].message });

/**
 * A $context.error value as the inside of a JSON string. `$util.escapeJavaScript` escapes quotes,
 * backslashes, control characters and non-ASCII text, but also turns `'` into `\'`, which is not valid
 * JSON: AWS documents undoing that with `.replaceAll("\\'","'")` (a Java regex: a backslash, then `'`).
 * https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-mapping-template-reference.html
 * ($util.escapeJavaScript; now https://docs.aws.amazon.com/apigateway/latest/developerguide/api-gateway-variables-for-data-transformations.html)
 * test/gateway-responses.test.ts renders every template with quotes, backslashes and newlines.
 */
const escapedContext = (name: string): string => `$util.escapeJavaScript($context.error.${name}).replaceAll("\\\\'","'")`;

/**
 * The application/json template of a gateway response: the constant body, or with `detail`, the
 * message followed by the escaped $context.error value. Constant text must hold no VTL (`$`, `#`).
 */
export function gatewayResponseTemplate(type: keyof typeof GATEWAY_ERRORS): string {
  const { code, message, detail } = GATEWAY_ERRORS[type];
  if (/[$#]/.test(code + message)) throw new Error(`gateway response ${type}: its text must not contain $ or # (API Gateway would read them as VTL)`);
  if (!detail) return gatewayErrorBody(type);
  const marker = '@@DETAIL@@';
  return JSON.stringify({ error: code, message: `${message} ${marker}` }).replace(marker, () => escapedContext(detail));
}
