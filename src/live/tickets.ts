/**
 * Single-use WebSocket tickets: a browser cannot set an Authorization header
 * on a WebSocket, so it trades its token for a ticket bound to its tenant and
 * one target (a run or a flow), valid 60 s. Only a SHA-256 of the ticket is
 * stored; redeeming deletes the row, so a ticket works once.
 */
import { and, eq, gt, lt } from 'drizzle-orm';
import { toBase64 } from '../crypto/encoding';
import type { Db } from '../db/client';
import { liveTickets } from '../db/schema';
import type { TenantScope } from '../db/scope';
import { randomToken } from '../lib/ids';

export const TICKET_TTL_MS = 60_000;

export type LiveTarget = { type: 'run' | 'flow'; id: string };

async function hash(ticket: string): Promise<string> {
  return toBase64(new Uint8Array(await crypto.subtle.digest('SHA-256', new TextEncoder().encode(ticket))));
}

export async function issueTicket(scope: TenantScope, target: LiveTarget): Promise<{ ticket: string; expiresAt: string }> {
  const ticket = `tkt_${randomToken(32)}`;
  const expiresAt = new Date(Date.now() + TICKET_TTL_MS).toISOString();
  await scope.db.insert(liveTickets).values({
    ticketHash: await hash(ticket),
    tenantId: scope.tenantId,
    sub: scope.actor,
    targetType: target.type,
    targetId: target.id,
    expiresAt,
  });
  return { ticket, expiresAt };
}

/**
 * Redeems a ticket for `target`: the tenant and subject it was issued to, or
 * null when it is unknown, used, expired or bound to another target. The row
 * is deleted in the same statement, so two redeemers cannot both win.
 */
export async function redeemTicket(db: Db, ticket: string, target: LiveTarget): Promise<{ tenantId: string; sub: string } | null> {
  if (ticket.length > 100) return null;
  const [row] = await db
    .delete(liveTickets)
    .where(and(eq(liveTickets.ticketHash, await hash(ticket)), gt(liveTickets.expiresAt, new Date().toISOString())))
    .returning();
  if (!row || row.targetType !== target.type || row.targetId !== target.id) return null;
  return { tenantId: row.tenantId, sub: row.sub };
}

/** Removes expired tickets (the scheduled handler calls this). */
export async function purgeExpiredTickets(db: Db): Promise<void> {
  await db.delete(liveTickets).where(lt(liveTickets.expiresAt, new Date().toISOString()));
}
