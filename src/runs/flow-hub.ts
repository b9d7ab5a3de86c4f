import { DurableObject } from 'cloudflare:workers';
import type { Env } from '../env';

export class FlowHub extends DurableObject<Env> {}
