/**
 * The wire stand-in's SQL front end serves the statements hanasr and its example app send
 * (src/standins/hana-wire/README.md), and refuses the rest with HANA's syntax error and a
 * message that says the stand-in does not serve it.
 */
import { describe, expect, it } from 'vitest';
import { LOG_SEGMENTS_QUERY } from '../../../src/hana/sql/backup.js';
import { LAG_QUERY, LAG_QUERY_WITHOUT_BACKLOG } from '../../../src/hana/sql/probe.js';
import { HanaSqlError, NOT_SERVED, parseSql } from '../../../src/standins/hana-wire/sql.js';

describe('the SQL the stand-in serves', () => {
  it.each([
    ['the lag source', LAG_QUERY],
    ['the lag source without backlog columns', LAG_QUERY_WITHOUT_BACKLOG],
    ['the availability probe', 'SELECT * FROM DUMMY'],
    [
      'the write probe table',
      'CREATE COLUMN TABLE T (WRITER NVARCHAR(256) PRIMARY KEY, WRITTEN_AT TIMESTAMP)',
    ],
    ['the write probe', 'UPSERT T (WRITER, WRITTEN_AT) VALUES (?, CURRENT_UTCTIMESTAMP) WITH PRIMARY KEY'],
    [
      'the backup catalog',
      'SELECT C.DATABASE_NAME, F.BACKUP_SIZE FROM SYS_DATABASES.M_BACKUP_CATALOG C LEFT JOIN SYS_DATABASES.M_BACKUP_CATALOG_FILES F' +
        " ON C.DATABASE_NAME = F.DATABASE_NAME AND C.BACKUP_ID = F.BACKUP_ID WHERE C.ENTRY_TYPE_NAME <> 'log backup'" +
        ' ORDER BY C.UTC_START_TIME DESC LIMIT 20',
    ],
    [
      'the example app insert',
      'INSERT INTO ORDERS (ID, AMOUNT, CREATED_AT) VALUES (?, ?, CURRENT_TIMESTAMP)',
    ],
    ['the example app lookup', 'SELECT ID FROM ORDERS WHERE ID = ?'],
    ['the log segments waiting for a backup', LOG_SEGMENTS_QUERY],
  ])('parses %s', (_name, sql) => {
    expect(() => parseSql(sql)).not.toThrow();
  });

  it.each([
    'UPDATE T SET V = 1 WHERE ID = 1',
    'DELETE FROM T WHERE ID = 1',
    'DROP TABLE T',
    'COMMIT',
    'SELECT COUNT(*) FROM T',
    'SELECT ID FROM T WHERE V IS NULL',
    'SELECT ID FROM T WHERE ID NOT IN (1, 2)',
    'SELECT ID FROM T WHERE ID > 1',
  ])('refuses %s, saying the stand-in does not serve it', (sql) => {
    let caught: unknown;
    try {
      parseSql(sql);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(HanaSqlError);
    expect((caught as HanaSqlError).code).toBe(257);
    expect((caught as HanaSqlError).message).toContain(NOT_SERVED);
  });
});
