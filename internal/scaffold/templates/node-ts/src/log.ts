// JSON log lines on stdout, one object a line: loop parses them and links a
// line that carries a trace_id to its trace.
export function log(level: string, msg: string, attrs: Record<string, unknown> = {}): void {
  process.stdout.write(JSON.stringify({ time: new Date().toISOString(), level, msg, service: "{{.Name}}", ...attrs }) + "\n");
}
