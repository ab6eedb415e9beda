// CommonJS loading the ESM-only package through require(esm) (Node >= 20.19).
const { createConnection, LifelineError } = require('lifeline-ws')
const { createHeartbeatServer } = require('lifeline-ws/server')
const { connectionMachine } = require('lifeline-ws/machine')

console.log(typeof createConnection, typeof LifelineError, typeof createHeartbeatServer, connectionMachine.id)
