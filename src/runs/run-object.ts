import { DurableObject } from 'cloudflare:workers';
import type { Env } from '../env';

export class RunObject extends DurableObject<Env> {}
