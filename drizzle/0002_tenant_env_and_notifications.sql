CREATE TABLE `notification_deliveries` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`flow_id` text NOT NULL,
	`run_id` text NOT NULL,
	`status` text NOT NULL,
	`attempts` integer NOT NULL,
	`last_status_code` integer,
	`last_error` text,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `notification_deliveries_flow_idx` ON `notification_deliveries` (`tenant_id`,`flow_id`,`id`);--> statement-breakpoint
CREATE UNIQUE INDEX `notification_deliveries_run_idx` ON `notification_deliveries` (`run_id`);--> statement-breakpoint
CREATE TABLE `tenant_env` (
	`tenant_id` text NOT NULL,
	`name` text NOT NULL,
	`value` text NOT NULL,
	`updated_at` text NOT NULL,
	PRIMARY KEY(`tenant_id`, `name`)
);
--> statement-breakpoint
ALTER TABLE `flow_versions` ADD `notify` text;--> statement-breakpoint
ALTER TABLE `flows` ADD `notify` text;