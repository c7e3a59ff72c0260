CREATE SCHEMA IF NOT EXISTS `staging`;

SELECT `unit`, CAST(`grp` AS STRING) AS grp, SUM(`value`) AS total, percentile(`value`, 0.95) AS p95, MAX(datediff(CAST(`event_at` AS DATE), CAST(`exposed_at` AS DATE))) AS days, MAX(`ds`) AS last_ds FROM `staging`.`unit_days` WHERE `event_at` < (`exposed_at` + INTERVAL 7 DAYS) AND `ds` >= DATE '2026-03-01' GROUP BY ALL;

CREATE OR REPLACE TABLE `staging`.`results_daily` AS SELECT `unit`, CAST(`grp` AS STRING) AS grp, SUM(`value`) AS total, percentile(`value`, 0.95) AS p95, MAX(datediff(CAST(`event_at` AS DATE), CAST(`exposed_at` AS DATE))) AS days, MAX(`ds`) AS last_ds FROM `staging`.`unit_days` WHERE `event_at` < (`exposed_at` + INTERVAL 7 DAYS) AND `ds` >= DATE '2026-03-01' GROUP BY ALL;

DELETE FROM `staging`.`results_daily` WHERE `last_ds` >= DATE '2026-03-02';

DROP TABLE IF EXISTS `staging`.`results_daily`;
