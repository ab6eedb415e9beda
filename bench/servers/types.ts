export interface RunningServer {
  port: number
  /** lifeline's helper only: close with the restart hint (1012, come back within `within` ms). */
  closeWithHint?(within: number): Promise<void>
}
