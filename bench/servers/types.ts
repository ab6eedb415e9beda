export interface RunningServer {
  port: number
}
