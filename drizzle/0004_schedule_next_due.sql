ALTER TABLE `flows` ADD `next_due_at` text;--> statement-breakpoint
CREATE INDEX `flows_next_due_idx` ON `flows` (`next_due_at`);--> statement-breakpoint
-- Schedule flows saved before this migration: due "at an unknown time", which the next minute tick reads as "if the expression matches this minute" before storing their real next due time.
UPDATE `flows` SET `next_due_at` = '1970-01-01T00:00:00.000Z' WHERE `trigger_type` = 'schedule' AND `enabled` = 1;
