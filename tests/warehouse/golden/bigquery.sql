CREATE SCHEMA IF NOT EXISTS `staging`;

SELECT `unit`, CAST(`grp` AS STRING) AS grp, SUM(`value`) AS total, NULL AS p95, MAX(DATE_DIFF(CAST(`event_at` AS DATE), CAST(`exposed_at` AS DATE), DAY)) AS days, MAX(`ds`) AS last_ds FROM `staging`.`unit_days` WHERE `event_at` < TIMESTAMP_ADD(`exposed_at`, INTERVAL 7 DAY) AND `ds` >= DATE '2026-03-01' GROUP BY ALL;

CREATE OR REPLACE TABLE `staging`.`results_daily` AS SELECT `unit`, CAST(`grp` AS STRING) AS grp, SUM(`value`) AS total, NULL AS p95, MAX(DATE_DIFF(CAST(`event_at` AS DATE), CAST(`exposed_at` AS DATE), DAY)) AS days, MAX(`ds`) AS last_ds FROM `staging`.`unit_days` WHERE `event_at` < TIMESTAMP_ADD(`exposed_at`, INTERVAL 7 DAY) AND `ds` >= DATE '2026-03-01' GROUP BY ALL;

DELETE FROM `staging`.`results_daily` WHERE `last_ds` >= DATE '2026-03-02';

DROP TABLE IF EXISTS `staging`.`results_daily`;
