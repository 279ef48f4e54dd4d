/**
 * Per-tenant resources in nested stacks: CloudFormation refuses a stack of more than 500 resources
 * (and 200 outputs), and each tenant brings its own API key, usage plan, plan key, outputs, and a
 * partner event bus and rule per EventBridge source. Tenants are spread over TENANT_GROUPS nested
 * stacks (`Tenants0` ... `Tenants19`) by a hash of the tenant's name alone: adding, removing or
 * reordering other tenants never moves a tenant's resources to another stack (which would replace
 * its API key, and fail for a partner bus, whose name exists once). The main stack keeps one nested
 * stack resource per group in use. The API keys have nested stacks of their own (`TenantKeysN`):
 * the API key authorizer needs their ids, and the usage plans need the API stage, which needs the
 * methods, which need the authorizer: in one nested stack that would be a cycle.
 */
import { NestedStack, Stack } from 'aws-cdk-lib';
import { Construct } from 'constructs';
import { createHash } from 'node:crypto';

/** How many nested stacks the tenants are spread over. Changing it moves tenants: never change it. */
export const TENANT_GROUPS = 20;

/** The group of a tenant: from its name only. */
export function tenantGroup(tenant: string): number {
  return createHash('sha256').update(tenant).digest().readUInt32BE(0) % TENANT_GROUPS;
}

/**
 * The scope for `owner`'s resources of `tenant`: a construct named as `owner` inside the tenant's
 * group nested stack (made on first use, a child of `owner`'s stack).
 */
export function tenantScope(owner: Construct, tenant: string, kind: 'Tenants' | 'TenantKeys' = 'Tenants'): Construct {
  const stack = Stack.of(owner);
  const id = `${kind}${tenantGroup(tenant)}`;
  const group =
    (stack.node.tryFindChild(id) as NestedStack | undefined) ??
    new NestedStack(stack, id, { description: `auth0-events: the resources of the tenants of group ${tenantGroup(tenant)} (lib/tenant-groups.ts)` });
  return (group.node.tryFindChild(owner.node.id) as Construct | undefined) ?? new Construct(group, owner.node.id);
}
