// CommonJS loading the ESM-only package through require(esm) (Node >= 20.19).
const { createConnection, LifelineError } = require('lifeline-ws')
const { createHeartbeatServer } = require('lifeline-ws/server')
const { connectionMachine } = require('lifeline-ws/machine')
const { useConnection } = require('lifeline-ws/react')
const { redisCluster } = require('lifeline-ws/redis')

console.log(typeof createConnection, typeof LifelineError, typeof createHeartbeatServer, connectionMachine.id, typeof useConnection, typeof redisCluster)
