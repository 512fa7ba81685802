import type { QueryRunner, TableColumnOptions } from 'typeorm';

/**
 * `created_at` / `updated_at` with a database default in milliseconds, as TypeORM's
 * `@CreateDateColumn`/`@UpdateDateColumn` expect (inserts through the query builder leave them
 * to the database). The only place where the two dialects need different SQL.
 */
export function timestampColumns(queryRunner: QueryRunner): [TableColumnOptions, TableColumnOptions] {
  const mysql = queryRunner.connection.options.type === 'mysql';
  const now = mysql ? 'CURRENT_TIMESTAMP(3)' : "(strftime('%Y-%m-%d %H:%M:%f', 'now'))";
  return [
    { name: 'created_at', type: 'datetime', precision: 3, isNullable: false, default: now },
    {
      name: 'updated_at',
      type: 'datetime',
      precision: 3,
      isNullable: false,
      default: now,
      ...(mysql ? { onUpdate: 'CURRENT_TIMESTAMP(3)' } : {}),
    },
  ];
}
