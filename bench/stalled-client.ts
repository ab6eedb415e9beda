// A client that stops reading, in its own process so that what it holds is
// never counted as the server's: it connects, says hello when told to (for
// reliable delivery), waits for the first frame (the welcome), then pauses
// its TCP socket. From then on the kernel's buffers fill and the server's
// socket has to hold what it sends. It exits with its parent.
import WebSocket from 'ws'
import { dieWithParent, reply } from './child.js'

interface ConnectCommand {
  cmd: 'connect'
  url: string
  /** A first frame to send, answered by one frame before the client stalls. */
  hello: string | null
}

dieWithParent()
process.once('message', (command: ConnectCommand) => {
  const socket = new WebSocket(command.url)
  socket.on('error', (error) => reply({ ev: 'error', message: `stalled client: ${error.message}` }))
  const stall = (): void => {
    // ws reads through this net.Socket; paused, it stops reading from the kernel.
    ;(socket as unknown as { _socket: { pause(): void } })._socket.pause()
    reply({ ev: 'stalled' })
  }
  socket.once('open', () => {
    if (command.hello === null) return stall()
    socket.once('message', stall)
    socket.send(command.hello)
  })
})
reply({ ev: 'ready' })
