ALTER TABLE `notification_deliveries` ADD `url` text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE `notification_deliveries` ADD `signing_secret` text;--> statement-breakpoint
ALTER TABLE `notification_deliveries` ADD `body` text DEFAULT '' NOT NULL;--> statement-breakpoint
ALTER TABLE `notification_deliveries` ADD `next_attempt_at` text DEFAULT '' NOT NULL;--> statement-breakpoint
CREATE INDEX `notification_deliveries_due_idx` ON `notification_deliveries` (`status`,`next_attempt_at`);