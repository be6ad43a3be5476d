import type { ParseRequest, WebhookEvent } from '@webhooks/core';
import { guarded, invalidPayload } from './internal/errors.js';
import { makeEvent, type ParseOptions } from './internal/event.js';
import { header } from './internal/headers.js';
import { formPayload, looksLikeJson, parseJsonObject, readRequest } from './internal/request.js';
import { getId, getObject, getString, type JsonObject } from './internal/values.js';

/** Event name to [key of the object in the body, entityType]. Unlisted events use their own name. */
const ENTITIES = new Map<string, [string, string]>([
  ['issues', ['issue', 'issue']],
  ['issue_comment', ['comment', 'issue_comment']],
  ['pull_request', ['pull_request', 'pull_request']],
  ['pull_request_review', ['review', 'pull_request_review']],
  ['pull_request_review_comment', ['comment', 'pull_request_review_comment']],
  ['pull_request_review_thread', ['thread', 'pull_request_review_thread']],
  ['discussion_comment', ['comment', 'discussion_comment']],
  ['commit_comment', ['comment', 'commit_comment']],
  ['ping', ['hook', 'hook']],
  ['fork', ['forkee', 'repository']],
  ['installation_repositories', ['installation', 'installation']],
  ['code_scanning_alert', ['alert', 'code_scanning_alert']],
  ['dependabot_alert', ['alert', 'dependabot_alert']],
  ['secret_scanning_alert', ['alert', 'secret_scanning_alert']],
  ['branch_protection_rule', ['rule', 'branch_protection_rule']],
]);

const BROAD_OWNERS = ['repository', 'organization', 'installation', 'sender'];

/** Body keys that identify an event when X-GitHub-Event is missing (the spec's example), in order. */
const INFERENCE: [keys: string[], event: string][] = [
  [['zen', 'hook_id'], 'ping'],
  [['comment', 'issue'], 'issue_comment'],
  [['comment', 'pull_request'], 'pull_request_review_comment'],
  [['review', 'pull_request'], 'pull_request_review'],
  [['comment', 'discussion'], 'discussion_comment'],
  [['pull_request'], 'pull_request'],
  [['issue'], 'issues'],
  [['ref', 'before', 'after'], 'push'],
  ...['release', 'check_run', 'check_suite', 'workflow_run', 'workflow_job', 'deployment_status', 'deployment']
    .concat(['discussion', 'milestone', 'label', 'project', 'team', 'package', 'membership', 'member'])
    .map((key): [string[], string] => [[key], key]),
];

/**
 * The id of the event's own object (under `key`); then a top-level id (`status`); then of the
 * broadest thing it is about. Looked up in that order, stopping at the first found.
 */
function ownerId(body: JsonObject, key: string): string | undefined {
  const own = getObject(body, key);
  const id = (own && getId(own, 'id')) ?? getId(body, 'id');
  if (id !== undefined) return id;
  for (const name of BROAD_OWNERS) {
    const owner = getObject(body, name);
    const found = owner && getId(owner, 'id');
    if (found !== undefined) return found;
  }
  return undefined;
}

function inferEvent(body: JsonObject): string {
  const match = INFERENCE.find(([keys]) => keys.every((key) => Object.hasOwn(body, key)));
  if (match === undefined) throw invalidPayload('Unrecognised GitHub payload');
  return match[1];
}

/**
 * GitHub: event name from `X-GitHub-Event` (inferred from the body's keys when absent), eventType
 * the body's `action`, or the event name for events without one (`push`, `create`, `ping`).
 * entityId is the object's numeric `id` as a string; `push` uses the `after` sha (or the ref).
 * deliveryId is `X-GitHub-Delivery`. `data` is the whole payload. Form-encoded deliveries
 * (`payload=<json>`) are accepted. GitHub sends no event time, so `timestamp` is receipt time.
 */
export const parseGitHub = guarded((request: ParseRequest, options?: ParseOptions): WebhookEvent => {
  const { headers, text } = readRequest(request);
  const body = looksLikeJson(text) ? parseJsonObject(text) : formPayload(text);
  const event = header(headers, 'x-github-event') ?? inferEvent(body);
  const [key, entityType] = ENTITIES.get(event) ?? [event, event];

  let entityId: string | undefined;
  if (event === 'push') entityId = getString(body, 'after') ?? getString(body, 'ref');
  else if (event === 'ping') entityId = getId(body, 'hook_id');
  else if (event === 'create' || event === 'delete') entityId = getString(body, 'ref');
  entityId ??= ownerId(body, key);

  return makeEvent(
    'github',
    {
      eventType: getString(body, 'action') ?? event,
      entityType,
      entityId,
      data: body,
      deliveryId: header(headers, 'x-github-delivery'),
    },
    options,
  );
});
