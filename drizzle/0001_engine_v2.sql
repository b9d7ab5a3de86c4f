DROP TABLE `trigger_dedupe`;--> statement-breakpoint
CREATE INDEX `runs_tenant_idx` ON `runs` (`tenant_id`,`id`);--> statement-breakpoint
-- Runs of the first engine (one Durable Object per run, 30-character ids) kept
-- their steps and events in objects that engine v2 retires; their index rows go
-- with them, so no list shows a run that cannot be opened.
DELETE FROM `runs` WHERE length(`id`) = 30;
