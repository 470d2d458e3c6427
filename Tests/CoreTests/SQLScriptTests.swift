import Testing
@testable import Core

@Suite struct SQLScriptTests {
    @Test func splitsOnSemicolonsOutsideQuotesCommentsAndDollarBodies() {
        let script = """
            -- leading comment; not a statement
            CREATE TABLE a (x TEXT DEFAULT 'semi;colon');
            INSERT INTO a VALUES ("q;uoted");
            CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $body$ LANGUAGE sql;
              ;
            SELECT 2
            """
        let statements = SQLScript.statements(in: script)
        #expect(statements == [
            "CREATE TABLE a (x TEXT DEFAULT 'semi;colon')",
            "INSERT INTO a VALUES (\"q;uoted\")",
            "CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $body$ LANGUAGE sql",
            "SELECT 2",
        ])
    }
}
