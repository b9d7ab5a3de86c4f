CREATE TABLE `audit_events` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`ts` text NOT NULL,
	`actor` text NOT NULL,
	`action` text NOT NULL,
	`target` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `audit_tenant_idx` ON `audit_events` (`tenant_id`,`id`);--> statement-breakpoint
CREATE TABLE `flow_keys` (
	`flow_id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`kek_id` text NOT NULL,
	`wrapped_key` text NOT NULL,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `flow_keys_kek_idx` ON `flow_keys` (`kek_id`);--> statement-breakpoint
CREATE TABLE `flow_versions` (
	`flow_id` text NOT NULL,
	`version` integer NOT NULL,
	`tenant_id` text NOT NULL,
	`name` text NOT NULL,
	`trigger` text NOT NULL,
	`blocks` text NOT NULL,
	`created_at` text NOT NULL,
	PRIMARY KEY(`flow_id`, `version`)
);
--> statement-breakpoint
CREATE TABLE `flows` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`name` text NOT NULL,
	`description` text,
	`enabled` integer NOT NULL,
	`version` integer NOT NULL,
	`trigger_type` text NOT NULL,
	`trigger` text NOT NULL,
	`blocks` text NOT NULL,
	`hook_id` text,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL
);
--> statement-breakpoint
CREATE INDEX `flows_tenant_idx` ON `flows` (`tenant_id`,`id`);--> statement-breakpoint
CREATE INDEX `flows_trigger_idx` ON `flows` (`trigger_type`,`tenant_id`);--> statement-breakpoint
CREATE UNIQUE INDEX `flows_hook_idx` ON `flows` (`hook_id`);--> statement-breakpoint
CREATE TABLE `live_tickets` (
	`ticket_hash` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`sub` text NOT NULL,
	`target_type` text NOT NULL,
	`target_id` text NOT NULL,
	`expires_at` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `runs` (
	`id` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`flow_id` text NOT NULL,
	`flow_version` integer NOT NULL,
	`status` text NOT NULL,
	`trigger_type` text NOT NULL,
	`trigger` text NOT NULL,
	`error` text,
	`created_at` text NOT NULL,
	`started_at` text,
	`finished_at` text
);
--> statement-breakpoint
CREATE INDEX `runs_flow_idx` ON `runs` (`tenant_id`,`flow_id`,`id`);--> statement-breakpoint
CREATE INDEX `runs_status_idx` ON `runs` (`status`,`created_at`);--> statement-breakpoint
CREATE TABLE `secrets` (
	`flow_id` text NOT NULL,
	`name` text NOT NULL,
	`tenant_id` text NOT NULL,
	`sealed` text NOT NULL,
	`allowed_hosts` text,
	`created_at` text NOT NULL,
	`updated_at` text NOT NULL,
	PRIMARY KEY(`flow_id`, `name`)
);
--> statement-breakpoint
CREATE TABLE `tenants` (
	`id` text PRIMARY KEY NOT NULL,
	`created_at` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `trigger_dedupe` (
	`key` text PRIMARY KEY NOT NULL,
	`tenant_id` text NOT NULL,
	`run_id` text NOT NULL,
	`created_at` text NOT NULL
);
--> statement-breakpoint
CREATE TABLE `variables` (
	`flow_id` text NOT NULL,
	`name` text NOT NULL,
	`tenant_id` text NOT NULL,
	`value` text NOT NULL,
	`updated_at` text NOT NULL,
	PRIMARY KEY(`flow_id`, `name`)
);
