-- Modify "orders" table
ALTER TABLE `orders` ADD INDEX `order_status_created_at` (`status`, `created_at`), ALGORITHM=INPLACE, LOCK=NONE;
